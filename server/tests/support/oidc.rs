//! A real OpenID provider for the sign-in tests: `end2end/oidc/provider.mjs` (the npm package
//! `oidc-provider`, installed by `make test`'s setup), one per test, with its test hooks on
//! (forged ID tokens, key rotation). And a small browser that walks its login, consent and
//! logout pages as a person would, following redirects one at a time.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::{free_port, spawn_with, Backend, TestApp};

pub const CLIENT_ID: &str = "techbiz-test";
pub const CLIENT_SECRET: &str = "test-client-secret";
/// Every test account's password at the provider.
pub const PASSWORD: &str = "password";
pub const ADMIN_GROUP: &str = "techbiz-subscription-admin";

pub struct Provider {
    pub issuer: String,
    control: reqwest::Client,
    _child: tokio::process::Child,
}

impl Provider {
    /// Starts the provider with the app at `app_base` registered as its client, and the
    /// provider's `extra` options (provider.mjs).
    pub async fn start(app_base: &str, extra: &[&str]) -> Provider {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/oidc/provider.mjs");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .args(["--port", &port.to_string()])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args(["--redirect-uri", &format!("{app_base}/auth/callback")])
            .args([
                "--post-logout-redirect-uri",
                &format!("{app_base}/signed-out"),
            ])
            .args([
                "--backchannel-logout-uri",
                &format!("{app_base}/auth/backchannel-logout"),
            ])
            .arg("--test-hooks")
            .args(extra)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node end2end/oidc/provider.mjs (run `make test`, which installs it)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("provider output") {
                if let Some(issuer) = line.strip_prefix("oidc-provider listening on ") {
                    return issuer.trim().to_string();
                }
            }
            panic!("the provider exited before it listened");
        })
        .await
        .expect("the provider listens within 30 s");
        // Keep reading its output, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Provider {
            issuer: ready,
            control: reqwest::Client::new(),
            _child: child,
        }
    }

    /// The next ID token the provider issues is forged this way (see provider.mjs).
    pub async fn tamper(&self, mode: &str) {
        let res = self
            .control
            .post(format!("{}/__test/tamper", self.issuer))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .expect("tamper");
        assert!(res.status().is_success(), "tamper {mode}: {}", res.status());
    }

    /// A new signing key; the old one is no longer published.
    pub async fn rotate_keys(&self) {
        let res = self
            .control
            .post(format!("{}/__test/rotate", self.issuer))
            .send()
            .await
            .expect("rotate");
        assert!(res.status().is_success(), "rotate: {}", res.status());
    }
}

/// The app's settings for signing in through `issuer`.
pub fn oidc_vars(issuer: &str, port: u16) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = super::PRODUCTION
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.extend(
        [
            ("SIGN_IN_MODE", "oidc".to_string()),
            ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
            ("OIDC_ISSUER_URL", issuer.to_string()),
            ("OIDC_CLIENT_ID", CLIENT_ID.to_string()),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET.to_string()),
            (
                "OIDC_SCOPES",
                "openid email profile groups agency".to_string(),
            ),
            ("OIDC_ADMIN_VALUE", ADMIN_GROUP.to_string()),
            ("RELAY_ENABLED", "false".to_string()),
            ("RATE_LIMIT_SIGN_IN", "1000/100ms".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    vars
}

/// A provider and an app that signs in through it, on `backend`.
pub async fn app_with_provider(backend: Backend) -> (TestApp, Provider) {
    app_with_provider_and(backend, &[], &[]).await
}

/// [`app_with_provider`] with more settings of the app and options of the provider.
pub async fn app_with_provider_and(
    backend: Backend,
    more: &[(&str, &str)],
    provider_options: &[&str],
) -> (TestApp, Provider) {
    let port = free_port();
    let provider = Provider::start(&format!("http://127.0.0.1:{port}"), provider_options).await;
    let mut vars = oidc_vars(&provider.issuer, port);
    vars.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (spawn_with(backend, &vars).await, provider)
}

/// A key pair for `private_key_jwt` in `dir` (end2end/oidc/client-key.mjs): the app's
/// private key file and the provider's JWK Set file.
pub async fn client_key(dir: &Path, kid: &str) -> (String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/oidc/client-key.mjs");
    let status = tokio::process::Command::new("node")
        .arg(script)
        .arg(dir)
        .arg(kid)
        .status()
        .await
        .expect("node client-key.mjs");
    assert!(status.success(), "client-key.mjs: {status}");
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    (file("client-key.pem"), file("client-jwks.json"))
}

/// An answer: where it was, its status, where it redirects, its body.
pub struct Page {
    pub url: String,
    pub status: reqwest::StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The `action` and hidden fields of the page's form that contains `marker`.
    pub fn form(&self, marker: &str) -> (String, Vec<(String, String)>) {
        let body = &self.body;
        let at = body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} on {}:\n{body}", self.url));
        let start = body[..at]
            .rfind("<form")
            .unwrap_or_else(|| panic!("no form around {marker:?}"));
        let end = body[start..]
            .find("</form>")
            .map(|e| start + e)
            .unwrap_or(body.len());
        let form = &body[start..end];
        let action = attr(form, "action").expect("a form action");
        let mut hidden = Vec::new();
        let mut rest = form;
        while let Some(i) = rest.find("<input") {
            let tag_end = rest[i..].find('>').map(|e| i + e).unwrap_or(rest.len());
            let tag = &rest[i..tag_end];
            if attr(tag, "type").as_deref() == Some("hidden") {
                if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
                    hidden.push((n, v));
                }
            }
            rest = &rest[tag_end..];
        }
        (action, hidden)
    }
}

/// The value of `name="…"` (or unquoted) in an HTML tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&key) {
        let at = from + i;
        let before = tag[..at].chars().last();
        if before.is_some_and(|c| c.is_whitespace()) {
            let v = &tag[at + key.len()..];
            let value = match v.chars().next() {
                Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or_default(),
                _ => v
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or_default(),
            };
            return Some(value.replace("&amp;", "&"));
        }
        from = at + key.len();
    }
    None
}

/// Resolves `location` against `base`.
fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| location.to_string())
}

impl TestApp {
    /// GETs `url` (absolute, or a path on the app).
    pub async fn open(&self, url: &str) -> Page {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            self.url(url)
        };
        let res = self.client.get(&url).send().await.expect("GET");
        page(url, res).await
    }

    /// Posts a form as a browser does after the person clicked.
    pub async fn submit(&self, base: &str, action: &str, fields: &[(String, String)]) -> Page {
        let url = absolute(base, action);
        let origin = reqwest::Url::parse(&url)
            .expect("url")
            .origin()
            .ascii_serialization();
        let res = self
            .client
            .post(&url)
            .header("origin", origin)
            .form(fields)
            .send()
            .await
            .expect("POST");
        page(url, res).await
    }

    /// Follows redirects from `page` until one leads back to the app (not followed: it is
    /// returned, so a test can look at it), or a page answers.
    pub async fn follow_to_app(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            let Some(location) = page.location.clone() else {
                return page;
            };
            let next = absolute(&page.url, &location);
            if next.starts_with(&self.base) {
                return page;
            }
            page = self.open(&next).await;
        }
        panic!("too many redirects");
    }

    /// Starts a sign-in at the app and walks the provider's pages as `email`: sign in, then
    /// Allow (or Deny) when asked. Returns the provider's redirect back to the app, unfollowed.
    pub async fn provider_sign_in(&self, email: &str, allow: bool, next: &str) -> Page {
        let start = self
            .open(&format!(
                "/auth/login?next={}",
                app::url::percent_encode(next)
            ))
            .await;
        assert!(
            start.status.is_redirection(),
            "/auth/login: {} {}",
            start.status,
            start.body
        );
        let mut page = self.follow_to_app(start).await;
        if page.location.is_none() && page.body.contains("name=password") {
            let (action, _) = page.form("name=password");
            let fields = [
                ("login".to_string(), email.to_string()),
                ("password".to_string(), PASSWORD.to_string()),
            ];
            page = self.submit(&page.url.clone(), &action, &fields).await;
            page = self.follow_to_app(page).await;
        }
        if page.location.is_none() && page.body.contains("name=decision") {
            let (action, _) = page.form("name=decision");
            let decision = if allow { "allow" } else { "deny" };
            page = self
                .submit(
                    &page.url.clone(),
                    &action,
                    &[("decision".into(), decision.into())],
                )
                .await;
            page = self.follow_to_app(page).await;
        }
        let back = page.location.as_deref().unwrap_or_default();
        assert!(
            absolute(&page.url, back).starts_with(&format!("{}/auth/callback", self.base)),
            "the provider did not send the browser back: {} {} {}",
            page.url,
            page.status,
            page.body
        );
        page
    }

    /// The provider's redirect back, taken: returns the app's answer.
    pub async fn take_callback(&self, back: &Page) -> Page {
        let location = back.location.as_deref().expect("a redirect back");
        self.open(&absolute(&back.url, location)).await
    }

    /// Signs in through the provider as `email` (allowing access or not) and takes the
    /// provider's answer back to the app: returns the app's answer to it.
    pub async fn sign_in_answer(&self, email: &str, allow: bool, next: &str) -> Page {
        let back = self.provider_sign_in(email, allow, next).await;
        self.take_callback(&back).await
    }

    /// Signs in through the provider as `email`, which must succeed.
    pub async fn signs_in_through(&self, email: &str) {
        let done = self.sign_in_answer(email, true, "/invite-users").await;
        assert_eq!(
            done.location.as_deref(),
            Some("/invite-users"),
            "{}",
            done.body
        );
    }

    /// Whether this browser has a session the app accepts (a page opens rather than
    /// sending it to sign in).
    pub async fn is_signed_in(&self) -> bool {
        let page = self.open("/invite-users").await;
        !page.status.is_redirection()
    }
}

async fn page(url: String, res: reqwest::Response) -> Page {
    let status = res.status();
    let location = super::header(&res, "location");
    let body = res.text().await.unwrap_or_default();
    Page {
        url,
        status,
        location,
        body,
    }
}
