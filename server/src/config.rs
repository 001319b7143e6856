//! Configuration from environment variables, optionally loaded from a file first
//! (`CONFIG_FILE`, `KEY=value` lines; variables already set win). Every variable is listed
//! with its default in the README.

use std::net::SocketAddr;

use app::server::settings::{Settings, SignInMode};

use crate::limits::RateLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR`: where the server listens.
    pub site_addr: SocketAddr,
    /// `DATABASE_URL`: `sqlite://…` (default) or `postgres://…`.
    pub database_url: String,
    /// `LEPTOS_SITE_ROOT`: the built site (wasm, JS, CSS and public assets).
    pub site_root: String,
    /// `LEPTOS_SITE_PKG_DIR`
    pub site_pkg_dir: String,
    /// `LEPTOS_OUTPUT_NAME`
    pub output_name: String,
    /// `LOG_FORMAT`: `json` (default, for production) or `pretty`.
    pub log_format: LogFormat,
    /// `RELAY_ENABLED`: whether this instance sends the queued email (default true).
    pub relay_enabled: bool,
    /// `RELAY_INTERVAL_MS`: how often the relay looks for due email (default 2000).
    pub relay_interval_ms: u64,
    /// `RELAY_RETRY_BASE_MS`: first retry delay after a failed send, doubling (default 30000).
    pub relay_retry_base_ms: u64,
    /// `SMTP_FROM`: the sender of every email.
    pub smtp_from: String,
    /// `RATE_LIMIT_SIGN_IN`, `RATE_LIMIT_LINKS`, `RATE_LIMIT_WEBHOOK`: per client address;
    /// `RATE_LIMIT_PROXIES`: how to find that address.
    pub rate_limits: RateLimits,
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads the process environment (after `CONFIG_FILE`, if set).
    pub fn from_env() -> Result<Config, ConfigError> {
        if let Ok(path) = std::env::var("CONFIG_FILE") {
            dotenvy::from_path(&path)
                .map_err(|e| ConfigError(format!("CONFIG_FILE {path} could not be read: {e}")))?;
        }
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the configuration from any source of variables (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |k: &str, default: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let site_addr: SocketAddr =
            var("LEPTOS_SITE_ADDR", "127.0.0.1:3000")
                .parse()
                .map_err(|e| {
                    ConfigError(format!(
                        "LEPTOS_SITE_ADDR must look like 127.0.0.1:3000 ({e})"
                    ))
                })?;
        let log_format = match var("LOG_FORMAT", "json").to_ascii_lowercase().as_str() {
            "json" => LogFormat::Json,
            "pretty" | "text" => LogFormat::Pretty,
            other => {
                return Err(ConfigError(format!(
                    "LOG_FORMAT must be \"json\" or \"pretty\", not \"{other}\""
                )))
            }
        };
        let sign_in_mode =
            SignInMode::parse(&var("SIGN_IN_MODE", "disabled")).map_err(ConfigError)?;
        let support_email = var("SUPPORT_EMAIL", "techbiz-support@tech.gov.sg");
        app::domain::Email::parse(&support_email)
            .map_err(|e| ConfigError(format!("SUPPORT_EMAIL: {e}")))?;
        let public_url = var("PUBLIC_URL", &format!("http://{site_addr}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError(format!(
                "PUBLIC_URL must start with http:// or https://, not \"{public_url}\""
            )));
        }
        let smtp_url = get("SMTP_URL").filter(|v| !v.trim().is_empty());
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError(
                    "SMTP_URL must start with smtp:// or smtps://".to_string(),
                ));
            }
        }
        let invite_expiry_days: u32 = var("INVITE_EXPIRY_DAYS", "14")
            .parse()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| {
                ConfigError("INVITE_EXPIRY_DAYS must be a whole number from 1 to 365".into())
            })?;
        let reminder_days = parse_days(&var("REMINDER_DAYS", "3,7"), invite_expiry_days)?;
        // Under `make run` (development sign-in) SEED reports are signed with a known
        // development secret, so scripts/seed-report.sh works out of the box.
        let seed_webhook_secret = get("SEED_WEBHOOK_SECRET")
            .filter(|v| !v.trim().is_empty())
            .or_else(|| {
                (sign_in_mode == SignInMode::Development).then(|| DEV_SEED_SECRET.to_string())
            });
        let relay_enabled = match var("RELAY_ENABLED", "true").to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                return Err(ConfigError(format!(
                    "RELAY_ENABLED must be true or false, not \"{other}\""
                )))
            }
        };
        let number = |k: &str, default: &str| -> Result<u64, ConfigError> {
            var(k, default)
                .parse()
                .map_err(|_| ConfigError(format!("{k} must be a whole number of milliseconds")))
        };
        let relay_interval_ms = number("RELAY_INTERVAL_MS", "2000")?;
        let relay_retry_base_ms = number("RELAY_RETRY_BASE_MS", "30000")?;
        let rate_limits =
            RateLimits::from_vars(|k, default| var(k, default)).map_err(ConfigError)?;
        Ok(Config {
            rate_limits,
            relay_enabled,
            relay_interval_ms,
            relay_retry_base_ms,
            smtp_from: var("SMTP_FROM", "TechBiz <no-reply@techbiz.tech.gov.sg>"),
            site_addr,
            database_url: var("DATABASE_URL", "sqlite://data/techbiz-invite.db"),
            site_root: var("LEPTOS_SITE_ROOT", "target/site"),
            site_pkg_dir: var("LEPTOS_SITE_PKG_DIR", "pkg"),
            output_name: var("LEPTOS_OUTPUT_NAME", "techbiz-invite"),
            log_format,
            settings: Settings {
                support_email,
                sign_in_mode,
                public_url: public_url.trim_end_matches('/').to_string(),
                smtp_url,
                invite_expiry_days,
                reminder_days,
                seed_webhook_secret,
            },
        })
    }
}

/// The SEED secret under development sign-in when none is configured.
pub const DEV_SEED_SECRET: &str = "dev-seed-secret";

/// "3,7" → [3, 7]: days after the invitation, each before it expires; "" or "none" → none.
fn parse_days(text: &str, expiry_days: u32) -> Result<Vec<u32>, ConfigError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut days: Vec<u32> = text
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<u32>()
                .ok()
                .filter(|d| (1..expiry_days).contains(d))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ConfigError(format!(
                "REMINDER_DAYS must be whole numbers of days from 1 to {}, separated by commas \
                 (like 3,7), or none",
                expiry_days.saturating_sub(1)
            ))
        })?;
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_production_setup() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/techbiz-invite.db");
        assert_eq!(c.settings.sign_in_mode, SignInMode::Disabled);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(!c.settings.secure_cookies());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("LEPTOS_SITE_ADDR", "nowhere"),
            ("SIGN_IN_MODE", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("SUPPORT_EMAIL", "not-an-address"),
            ("PUBLIC_URL", "ftp://x"),
            ("SMTP_URL", "http://x"),
            ("INVITE_EXPIRY_DAYS", "0"),
            ("RELAY_ENABLED", "sometimes"),
            ("RELAY_INTERVAL_MS", "soon"),
            ("RATE_LIMIT_SIGN_IN", "10"),
            ("RATE_LIMIT_LINKS", "0/1s"),
            ("RATE_LIMIT_WEBHOOK", "60/1h"),
            ("RATE_LIMIT_PROXIES", "many"),
        ] {
            let err = config(&[(k, v)]).expect_err(k).to_string();
            assert!(err.contains(k), "{err} should name {k}");
        }
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = config(&[("PUBLIC_URL", "https://invite.tech.gov.sg/")]).expect("ok");
        assert!(c.settings.secure_cookies());
        assert_eq!(c.settings.public_url, "https://invite.tech.gov.sg");
    }
}
