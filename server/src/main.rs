use server::config::Config;
use server::startup::Application;
use server::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.log_format);
    let app = Application::build(config).await?;
    tracing::info!("listening on http://{}", app.local_addr()?);
    app.run_until_stopped().await
}
