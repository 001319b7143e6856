//! Configuration from environment variables, optionally loaded from a file first
//! (`CONFIG_FILE`, `KEY=value` lines; variables already set win). Every variable is listed
//! with its default in the README.

use std::net::SocketAddr;
use std::time::Duration;

use app::server::links::{LinkSecret, MIN_SECRET_LEN};
use app::server::oidc::OidcSettings;
use app::server::scim::ScimSettings;
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
    /// `SMTP_TIMEOUT_MS`: how long one send may take (default 20000).
    pub smtp_timeout_ms: u64,
    /// `PRECHECK_ADDRESSES_PER_HOUR`: addresses one officer may pre-check in an hour.
    pub precheck_addresses_per_hour: usize,
    /// `RELAY_LEASE_MS`: how long a claimed message is one relay's (default 120000; longer
    /// than `SMTP_TIMEOUT_MS`, so a slow send cannot let another relay send it too).
    pub relay_lease_ms: u64,
    /// `SMTP_FROM`: the sender of every email.
    pub smtp_from: String,
    /// `RATE_LIMIT_SIGN_IN`, `RATE_LIMIT_LINKS`, `RATE_LIMIT_WEBHOOK`: per client address;
    /// `RATE_LIMIT_PROXIES`: how to find that address.
    pub rate_limits: RateLimits,
    /// `OIDC_*`: the identity provider, under `SIGN_IN_MODE=oidc`.
    pub oidc: Option<OidcSettings>,
    /// `DIRECTORY`: `builtin` (default, the app's own table) or `scim` (with `SCIM_*`).
    pub scim: Option<ScimSettings>,
    /// `PROVISIONING_ENABLED`: whether this instance runs the provisioning worker (default
    /// true).
    pub provisioning_enabled: bool,
    /// `PROVISIONING_INTERVAL_MS`: how often the worker looks for due accounts (default 1000).
    pub provisioning_interval_ms: u64,
    /// `PROVISIONING_RETRY_BASE_MS`: first retry after the directory was unavailable,
    /// doubling (default 5000).
    pub provisioning_retry_base_ms: u64,
    /// `PROVISIONING_REFRESH_MS`: how often an account not yet active is asked about again
    /// (default 60000).
    pub provisioning_refresh_ms: u64,
    /// `PROVISIONING_INLINE_MS`: how long a request waits for its own accounts before leaving
    /// them to the worker (default 5000).
    pub provisioning_inline_ms: u64,
    /// `METRICS_ADDR`: where Prometheus metrics are served (`GET /metrics`), apart from the
    /// site; unset (the default): no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// `SHUTDOWN_GRACE_SECS`: on SIGTERM, how long requests in flight and the workers' current
    /// work may take before the process exits anyway (default 20).
    pub shutdown_grace: Duration,
    /// `SHUTDOWN_DELAY_MS`: on SIGTERM, how long the instance keeps accepting requests while
    /// `/readyz` already says it is draining, so a load balancer stops sending before the
    /// listener closes (default 0; set it to the load balancer's check interval × its fall
    /// count).
    pub shutdown_delay: Duration,
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
        let dev = sign_in_mode == SignInMode::Development;
        let smtp_url = get("SMTP_URL")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError(
                    "SMTP_URL must start with smtp:// or smtps://".to_string(),
                ));
            }
        }
        let allow_plaintext = flag(
            &var("SMTP_ALLOW_PLAINTEXT", "false"),
            "SMTP_ALLOW_PLAINTEXT",
        )?;
        if dev {
            // Development sign-in signs in whoever types an address: it must not be able to
            // reach real users by accident.
            if public_url.starts_with("https://") {
                return Err(ConfigError(format!(
                    "SIGN_IN_MODE=dev signs in anyone who types an address, so it refuses to \
                     run behind PUBLIC_URL {public_url} (https, a real address). Use \
                     SIGN_IN_MODE=disabled there"
                )));
            }
            if !site_addr.ip().is_loopback() {
                return Err(ConfigError(format!(
                    "SIGN_IN_MODE=dev listens only on a loopback address (127.0.0.1 or [::1]); \
                     LEPTOS_SITE_ADDR is {site_addr}"
                )));
            }
            if let Some(url) = &smtp_url {
                if !smtp_host_is_loopback(url) {
                    return Err(ConfigError(
                        "SIGN_IN_MODE=dev sends mail only to a test mail server on this machine \
                         (SMTP_URL on 127.0.0.1 or localhost): a real SMTP_URL would mail real \
                         people from a development server. Unset SMTP_URL to use the \
                         development mailbox"
                            .to_string(),
                    ));
                }
            }
        } else {
            match &smtp_url {
                None => {
                    return Err(ConfigError(
                        "SMTP_URL is not set: without a mail server no invitation would reach \
                         anyone. Set SMTP_URL (smtps://host:465, or smtp://host:587?tls=required)"
                            .to_string(),
                    ))
                }
                Some(url) if is_plaintext_smtp(url) && !allow_plaintext => {
                    return Err(ConfigError(
                        "SMTP_URL is plain smtp:// without TLS, which sends invitation links in \
                         the clear: use smtps:// or smtp://…?tls=required, or set \
                         SMTP_ALLOW_PLAINTEXT=true if the mail server is on a trusted network"
                            .to_string(),
                    ))
                }
                Some(_) => {}
            }
        }
        let link_secret = match get("LINK_SECRET").map(|v| v.trim().to_string()) {
            Some(s) if s.len() >= MIN_SECRET_LEN => LinkSecret::new(s),
            Some(s) if !s.is_empty() => {
                return Err(ConfigError(format!(
                    "LINK_SECRET must be at least {MIN_SECRET_LEN} characters (it has {}); \
                     for example the output of `openssl rand -base64 48`",
                    s.len()
                )))
            }
            _ if dev => LinkSecret::new(DEV_LINK_SECRET),
            _ => {
                return Err(ConfigError(format!(
                    "LINK_SECRET is not set: invitation links are made with it and it must not \
                     be stored in the database. Set at least {MIN_SECRET_LEN} random characters \
                     (for example the output of `openssl rand -base64 48`)"
                )))
            }
        };
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
        let relay_enabled = flag(&var("RELAY_ENABLED", "true"), "RELAY_ENABLED")?;
        let number = |k: &str, default: &str| -> Result<u64, ConfigError> {
            var(k, default)
                .parse()
                .map_err(|_| ConfigError(format!("{k} must be a whole number of milliseconds")))
        };
        let relay_interval_ms = number("RELAY_INTERVAL_MS", "2000")?;
        let relay_retry_base_ms = number("RELAY_RETRY_BASE_MS", "30000")?;
        let smtp_timeout_ms = number("SMTP_TIMEOUT_MS", "20000")?;
        if smtp_timeout_ms < 100 {
            return Err(ConfigError("SMTP_TIMEOUT_MS must be at least 100".into()));
        }
        let invite_quota_per_hour: u32 = var("INVITE_QUOTA_PER_HOUR", "5000")
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                ConfigError("INVITE_QUOTA_PER_HOUR must be a whole number of at least 1".into())
            })?;
        let precheck_addresses_per_hour: usize = var("PRECHECK_ADDRESSES_PER_HOUR", "300000")
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                ConfigError(
                    "PRECHECK_ADDRESSES_PER_HOUR must be a whole number of at least 1".into(),
                )
            })?;
        let relay_lease_ms = number("RELAY_LEASE_MS", "120000")?;
        if relay_lease_ms <= smtp_timeout_ms {
            return Err(ConfigError(format!(
                "RELAY_LEASE_MS ({relay_lease_ms}) must be longer than SMTP_TIMEOUT_MS \
                 ({smtp_timeout_ms}): a send still waiting when its lease ran out could be sent \
                 again by another instance"
            )));
        }
        let rate_limits =
            RateLimits::from_vars(|k, default| var(k, default)).map_err(ConfigError)?;
        let oidc = match sign_in_mode {
            SignInMode::Oidc => {
                Some(OidcSettings::from_vars(&get, &public_url).map_err(ConfigError)?)
            }
            _ => None,
        };
        let scim = match var("DIRECTORY", "builtin").trim() {
            "builtin" => None,
            "scim" => Some(ScimSettings::from_vars(&get).map_err(ConfigError)?),
            other => {
                return Err(ConfigError(format!(
                    "DIRECTORY must be builtin (the app's own accounts table) or scim (a SCIM \
                     2.0 server: SCIM_BASE_URL, SCIM_TOKEN), not \"{other}\""
                )))
            }
        };
        let provisioning_enabled =
            flag(&var("PROVISIONING_ENABLED", "true"), "PROVISIONING_ENABLED")?;
        let provisioning_interval_ms = number("PROVISIONING_INTERVAL_MS", "1000")?;
        let provisioning_retry_base_ms = number("PROVISIONING_RETRY_BASE_MS", "5000")?;
        let provisioning_refresh_ms = number("PROVISIONING_REFRESH_MS", "60000")?;
        let provisioning_inline_ms = number("PROVISIONING_INLINE_MS", "5000")?;
        let metrics_addr = get("METRICS_ADDR")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<SocketAddr>().map_err(|e| {
                    ConfigError(format!(
                        "METRICS_ADDR must look like 127.0.0.1:9100 (an address and port apart \
                         from the site's), not \"{v}\" ({e})"
                    ))
                })
            })
            .transpose()?;
        if metrics_addr.is_some_and(|m| m == site_addr && m.port() != 0) {
            return Err(ConfigError(
                "METRICS_ADDR must differ from LEPTOS_SITE_ADDR: metrics are for operators, \
                 on an address the public cannot reach"
                    .into(),
            ));
        }
        let shutdown_grace_secs: u64 = var("SHUTDOWN_GRACE_SECS", "20")
            .parse()
            .ok()
            .filter(|n| (1..=600).contains(n))
            .ok_or_else(|| {
                ConfigError(
                    "SHUTDOWN_GRACE_SECS must be a whole number of seconds, 1 to 600".into(),
                )
            })?;
        let shutdown_delay_ms = number("SHUTDOWN_DELAY_MS", "0")?;
        if shutdown_delay_ms >= shutdown_grace_secs * 1000 {
            return Err(ConfigError(format!(
                "SHUTDOWN_DELAY_MS ({shutdown_delay_ms}) must be shorter than \
                 SHUTDOWN_GRACE_SECS ({shutdown_grace_secs} s): the delay is part of the grace"
            )));
        }
        Ok(Config {
            metrics_addr,
            shutdown_grace: Duration::from_secs(shutdown_grace_secs),
            shutdown_delay: Duration::from_millis(shutdown_delay_ms),
            rate_limits,
            oidc,
            scim,
            provisioning_enabled,
            provisioning_interval_ms,
            provisioning_retry_base_ms,
            provisioning_refresh_ms,
            provisioning_inline_ms,
            relay_enabled,
            relay_interval_ms,
            relay_retry_base_ms,
            smtp_timeout_ms,
            relay_lease_ms,
            precheck_addresses_per_hour,
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
                link_secret,
                invite_quota_per_hour,
            },
        })
    }
}

/// The SEED secret under development sign-in when none is configured.
pub const DEV_SEED_SECRET: &str = "dev-seed-secret";

/// The link secret under development sign-in when none is configured (never used outside it).
pub const DEV_LINK_SECRET: &str = "development-only-link-secret-never-used-in-production";

fn flag(value: &str, name: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(ConfigError(format!(
            "{name} must be true or false, not \"{other}\""
        ))),
    }
}

/// `smtp://` without `tls=required` (STARTTLS): lettre then sends in the clear.
fn is_plaintext_smtp(url: &str) -> bool {
    url.starts_with("smtp://") && !url.to_ascii_lowercase().contains("tls=required")
}

/// Whether the SMTP server of `url` is on this machine (127.0.0.0/8, [::1] or localhost).
fn smtp_host_is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

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

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// What production needs besides the defaults: a mail server and the link secret.
    const PRODUCTION: [(&str, &str); 2] = [
        ("SMTP_URL", "smtps://mail.tech.gov.sg"),
        ("LINK_SECRET", SECRET),
    ];

    fn production(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars = PRODUCTION.to_vec();
        vars.extend_from_slice(extra);
        config(&vars)
    }

    /// The configuration was refused with a message that says `says`.
    fn assert_refused(made: Result<Config, ConfigError>, says: &str) {
        match made {
            Ok(_) => panic!("accepted, but should be refused naming {says}"),
            Err(e) => assert!(e.to_string().contains(says), "{e} should name {says}"),
        }
    }

    #[test]
    fn defaults_are_the_embedded_production_setup() {
        let c = production(&[]).expect("defaults");
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/techbiz-invite.db");
        assert_eq!(c.settings.sign_in_mode, SignInMode::Disabled);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(!c.settings.secure_cookies());
        assert_eq!(
            c.settings.seed_webhook_secret, None,
            "no SEED secret by default"
        );
    }

    #[test]
    fn outside_development_a_mail_server_and_a_link_secret_are_required() {
        assert_refused(config(&[("LINK_SECRET", SECRET)]), "SMTP_URL is not set");
        assert_refused(
            config(&[("SMTP_URL", "smtps://m.gov.sg")]),
            "LINK_SECRET is not set",
        );
        assert_refused(
            production(&[("LINK_SECRET", "short")]),
            "LINK_SECRET must be at least 32",
        );
        // Plain SMTP needs saying so; STARTTLS and TLS do not.
        assert_refused(
            production(&[("SMTP_URL", "smtp://mail.tech.gov.sg:25")]),
            "SMTP_ALLOW_PLAINTEXT",
        );
        production(&[
            ("SMTP_URL", "smtp://mail.tech.gov.sg:25"),
            ("SMTP_ALLOW_PLAINTEXT", "true"),
        ])
        .expect("plain, opted in");
        production(&[("SMTP_URL", "smtp://mail.tech.gov.sg:587?tls=required")]).expect("STARTTLS");
        let c = production(&[("SEED_WEBHOOK_SECRET", "s3cret")]).expect("seed");
        assert_eq!(c.settings.seed_webhook_secret.as_deref(), Some("s3cret"));
    }

    #[test]
    fn development_sign_in_refuses_what_could_reach_real_people() {
        let dev = |extra: &[(&str, &str)]| {
            let mut vars = vec![("SIGN_IN_MODE", "dev")];
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let c = dev(&[]).expect("dev on loopback, development mailbox");
        assert_eq!(
            c.settings.seed_webhook_secret.as_deref(),
            Some(DEV_SEED_SECRET)
        );
        dev(&[("SMTP_URL", "smtp://127.0.0.1:2525")]).expect("a test mail server on loopback");
        dev(&[("SMTP_URL", "smtp://localhost:2525")]).expect("localhost");
        for (k, v, says) in [
            ("PUBLIC_URL", "https://invite.tech.gov.sg", "PUBLIC_URL"),
            ("LEPTOS_SITE_ADDR", "0.0.0.0:3000", "LEPTOS_SITE_ADDR"),
            ("LEPTOS_SITE_ADDR", "10.1.2.3:3000", "LEPTOS_SITE_ADDR"),
            ("SMTP_URL", "smtps://mail.tech.gov.sg", "SMTP_URL"),
            ("SMTP_URL", "smtp://user:pw@mail.tech.gov.sg:25", "SMTP_URL"),
        ] {
            assert_refused(dev(&[(k, v)]), says);
        }
    }

    #[test]
    fn the_lease_outlasts_a_send() {
        assert_refused(
            production(&[("SMTP_TIMEOUT_MS", "5000"), ("RELAY_LEASE_MS", "5000")]),
            "RELAY_LEASE_MS",
        );
        let c = production(&[("SMTP_TIMEOUT_MS", "1000"), ("RELAY_LEASE_MS", "3000")]).expect("ok");
        assert_eq!((c.smtp_timeout_ms, c.relay_lease_ms), (1000, 3000));
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
            ("SMTP_ALLOW_PLAINTEXT", "perhaps"),
            ("SMTP_TIMEOUT_MS", "soon"),
            ("RELAY_LEASE_MS", "later"),
            ("INVITE_QUOTA_PER_HOUR", "0"),
            ("PRECHECK_ADDRESSES_PER_HOUR", "many"),
            ("RATE_LIMIT_SIGN_IN", "10"),
            ("RATE_LIMIT_LINKS", "0/1s"),
            ("RATE_LIMIT_WEBHOOK", "60/1h"),
            ("RATE_LIMIT_PROXIES", "many"),
            ("METRICS_ADDR", "port 9100"),
            ("SHUTDOWN_GRACE_SECS", "0"),
            ("SHUTDOWN_DELAY_MS", "soon"),
        ] {
            assert_refused(production(&[(k, v)]), k);
        }
    }

    #[test]
    fn shutdown_and_metrics_settings() {
        let c = production(&[]).expect("defaults");
        assert_eq!(c.metrics_addr, None, "metrics are off by default");
        assert_eq!(c.shutdown_grace, Duration::from_secs(20));
        assert_eq!(c.shutdown_delay, Duration::ZERO);
        assert_refused(
            production(&[("SHUTDOWN_GRACE_SECS", "5"), ("SHUTDOWN_DELAY_MS", "5000")]),
            "SHUTDOWN_DELAY_MS (5000) must be shorter than SHUTDOWN_GRACE_SECS",
        );
        assert_refused(
            production(&[("METRICS_ADDR", "127.0.0.1:3000")]),
            "METRICS_ADDR must differ from LEPTOS_SITE_ADDR",
        );
        let c = production(&[
            ("METRICS_ADDR", "127.0.0.1:9100"),
            ("SHUTDOWN_DELAY_MS", "2000"),
        ])
        .expect("ok");
        assert_eq!(c.metrics_addr.map(|a| a.port()), Some(9100));
        assert_eq!(c.shutdown_delay, Duration::from_secs(2));
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = production(&[("PUBLIC_URL", "https://invite.tech.gov.sg/")]).expect("ok");
        assert!(c.settings.secure_cookies());
        assert_eq!(c.settings.public_url, "https://invite.tech.gov.sg");
    }
}
