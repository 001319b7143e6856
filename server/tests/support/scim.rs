//! A real SCIM 2.0 server for the provisioning tests: scim2-server (PyPI, pinned, in the venv
//! `make test`'s setup makes) through `scripts/scim-server.sh`, with bearer auth, a state file
//! that survives `kill -9`, and its test hooks (injected 5xx/429, a dropped answer).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

pub const TOKEN: &str = "scim-test-token";

pub struct ScimServer {
    pub port: u16,
    pub base: String,
    state: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
    client: reqwest::Client,
}

impl ScimServer {
    /// A new server on a free port, with an empty state file of its own.
    pub async fn start() -> ScimServer {
        Self::start_with(&[]).await
    }

    /// [`ScimServer::start`] with environment variables (`SCIM_DELAY_MS`).
    pub async fn start_with(env: &[(&str, &str)]) -> ScimServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("scim-state.jsonl");
        let port = super::free_port();
        let mut server = ScimServer {
            port,
            base: format!("http://127.0.0.1:{port}"),
            state,
            _dir: dir,
            child: None,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        };
        server.launch(env).await;
        server
    }

    async fn launch(&mut self, env: &[(&str, &str)]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/scim-server.sh");
        let mut child = tokio::process::Command::new("bash")
            .arg(script)
            .arg(self.port.to_string())
            .arg(TOKEN)
            .arg(&self.state)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("scripts/scim-server.sh (run `make test`, whose setup makes its venv)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("scim-server output") {
                if line.starts_with("scim-server: ready on") {
                    return;
                }
            }
            panic!("the SCIM server exited before it was ready");
        })
        .await
        .expect("the SCIM server is ready within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// `kill -9`: the server stops mid-whatever; its state file keeps what it wrote.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("kill");
            child.wait().await.expect("wait");
        }
    }

    /// Starts it again on the same port and state file.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.launch(&[]).await;
    }

    /// The app's settings for this directory.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DIRECTORY", "scim".to_string()),
            ("SCIM_BASE_URL", self.base.clone()),
            ("SCIM_TOKEN", TOKEN.to_string()),
        ]
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let text = res.text().await.expect("body");
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        }
    }

    /// Every user the server holds.
    pub async fn users(&self) -> Vec<Value> {
        let page = self
            .call(reqwest::Method::GET, "/Users?count=100000", None)
            .await;
        page["Resources"].as_array().cloned().unwrap_or_default()
    }

    /// The users whose externalId is `external_id`.
    pub async fn users_for(&self, external_id: &str) -> Vec<Value> {
        self.users()
            .await
            .into_iter()
            .filter(|u| u["externalId"] == external_id)
            .collect()
    }

    /// Makes a user directly in the directory (an account made elsewhere).
    pub async fn add_user(&self, user_name: &str, email: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "emails": [{ "value": email, "primary": true }],
                "active": true,
            })),
        )
        .await
    }

    /// The next `count` requests to paths starting `/Users` answer `status` (a number, or
    /// "drop": served, then the connection closed with no answer); see scim_server.py.
    /// Only `methods` (["POST"]) are hit.
    pub async fn fault(
        &self,
        status: Value,
        count: u32,
        retry_after: Option<u32>,
        methods: &[&str],
    ) {
        let mut body = json!({ "status": status, "count": count, "paths": "/Users" });
        if !methods.is_empty() {
            body["methods"] = json!(methods);
        }
        if let Some(s) = retry_after {
            body["retry_after"] = json!(s);
        }
        self.call(reqwest::Method::POST, "/_test/faults", Some(body))
            .await;
    }

    /// Sets a user's `active` (as TechPass does when the person activates).
    pub async fn set_active(&self, id: &str, active: bool) {
        self.call(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "active", "value": active }],
            })),
        )
        .await;
    }

    pub async fn delete_user(&self, id: &str) {
        self.call(reqwest::Method::DELETE, &format!("/Users/{id}"), None)
            .await;
    }

    /// Requests served, by method ("POST": n).
    pub async fn served(&self, method: &str) -> u64 {
        self.call(reqwest::Method::GET, "/_test/stats", None).await["by_method"][method]
            .as_u64()
            .unwrap_or(0)
    }

    /// How many requests hit an injected fault so far.
    pub async fn faults_hit(&self) -> u64 {
        self.call(reqwest::Method::GET, "/_test/stats", None).await["faults"]
            .as_u64()
            .unwrap_or(0)
    }
}
