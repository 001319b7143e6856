//! The TechPass directory over SCIM 2.0 (RFC 7643/7644), `DIRECTORY=scim`: users are created
//! with `POST /Users`, found with filters joined by `or` (one request for a part of a list),
//! read with `GET /Users/{id}` and (de)activated with `PATCH`.
//!
//! Every request has a timeout; an answer that is not there, a 5xx or a 429 is
//! [`DirectoryError::Unavailable`] (with the server's `Retry-After`), which the provisioning
//! queue tries again; a 409 is [`DirectoryError::Exists`] and any other 4xx
//! [`DirectoryError::Refused`] with the server's `detail`.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::directory::{Directory, DirectoryError, DirectoryUser, Existing, RemoteUser};
use crate::domain::UserKind;

const SCIM_JSON: &str = "application/scim+json";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// How many `or` terms one filter holds: a request for 50 addresses, not one per address.
const FILTER_TERMS: usize = 50;

/// `DIRECTORY=scim`: where the SCIM server is and how to reach it.
#[derive(Clone)]
pub struct ScimSettings {
    /// `SCIM_BASE_URL`: the base of the endpoints, without the trailing slash
    /// (`https://directory.example/scim/v2`).
    pub base_url: String,
    /// `SCIM_TOKEN`: the bearer token.
    pub token: String,
    /// `SCIM_TIMEOUT_MS`: the most one request may take (default 10000).
    pub timeout: Duration,
}

impl std::fmt::Debug for ScimSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimSettings")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ScimSettings {
    /// Reads the settings; an error names the variable and says what it should be.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<ScimSettings, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let base = var("SCIM_BASE_URL").ok_or(
            "SCIM_BASE_URL is not set: DIRECTORY=scim needs the SCIM server's base URL \
             (for example https://directory.example/scim/v2)",
        )?;
        let url = reqwest::Url::parse(&base)
            .map_err(|e| format!("SCIM_BASE_URL is not a URL ({e}): \"{base}\""))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(format!(
                "SCIM_BASE_URL must be https:// (only a server on this machine may use \
                 http://): \"{base}\""
            ));
        }
        let token = var("SCIM_TOKEN").ok_or(
            "SCIM_TOKEN is not set: DIRECTORY=scim needs the bearer token the SCIM server gave \
             this app",
        )?;
        if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err("SCIM_TOKEN has characters a header cannot carry".into());
        }
        let timeout_ms = match var("SCIM_TIMEOUT_MS") {
            None => 10_000,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|ms| (100..=120_000).contains(ms))
                .ok_or_else(|| {
                    format!("SCIM_TIMEOUT_MS must be 100 to 120000 milliseconds, not \"{v}\"")
                })?,
        };
        Ok(ScimSettings {
            base_url: base.trim_end_matches('/').to_string(),
            token,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

/// The SCIM client.
#[derive(Clone)]
pub struct ScimDirectory {
    settings: ScimSettings,
    http: reqwest::Client,
}

impl std::fmt::Debug for ScimDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimDirectory")
            .field("settings", &self.settings)
            .finish()
    }
}

impl ScimDirectory {
    pub fn new(settings: ScimSettings) -> Result<ScimDirectory, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("could not make the SCIM client: {e}"))?;
        Ok(ScimDirectory { settings, http })
    }

    /// Asks the server for its configuration (`GET /ServiceProviderConfig`) with the token:
    /// start-up says at once when the URL or the token is wrong.
    pub async fn check(&self) -> Result<(), DirectoryError> {
        self.call(Method::GET, "/ServiceProviderConfig", None)
            .await?;
        self.call(Method::GET, "/Users?count=1", None).await?;
        Ok(())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), DirectoryError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.settings.base_url))
            .bearer_auth(&self.settings.token)
            .header(ACCEPT, SCIM_JSON);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| {
            DirectoryError::unavailable(if e.is_timeout() {
                format!("no answer to {method} within {:?}", self.settings.timeout)
            } else {
                format!("{method} could not reach the server ({e})")
            })
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| {
            DirectoryError::unavailable(format!("{method}: the answer was cut short ({e})"))
        })?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok((status, value));
        }
        let detail = value
            .get("detail")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(match status {
            StatusCode::CONFLICT => DirectoryError::Exists(detail),
            StatusCode::NOT_FOUND => DirectoryError::NotFound,
            StatusCode::TOO_MANY_REQUESTS => DirectoryError::Unavailable {
                detail: format!("too many requests: {detail}"),
                retry_after,
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => DirectoryError::unavailable(
                format!("the server refused the token (check SCIM_TOKEN): {detail}"),
            ),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                DirectoryError::Unavailable {
                    detail: format!("HTTP {s}: {detail}"),
                    retry_after,
                }
            }
            _ => DirectoryError::Refused(detail),
        })
    }

    /// Every user matching `filter`, following the pages of the answer; `attributes` only.
    async fn search(&self, filter: &str, attributes: &str) -> Result<Vec<Value>, DirectoryError> {
        let mut found = Vec::new();
        let mut start = 1u64;
        loop {
            let path = format!(
                "/Users?filter={}&attributes={attributes}&startIndex={start}&count=200",
                encode(filter)
            );
            let (_, page) = self.call(Method::GET, &path, None).await?;
            if page
                .get("schemas")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.iter().any(|v| v == LIST))
            {
                return Err(DirectoryError::unavailable(
                    "the answer to a search was not a SCIM ListResponse",
                ));
            }
            let resources = page
                .get("Resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = page
                .get("totalResults")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let got = resources.len() as u64;
            found.extend(resources);
            start += got;
            if got == 0 || start > total {
                return Ok(found);
            }
        }
    }
}

/// A filter's value as a SCIM string (RFC 7644 §3.4.2.2: JSON string rules).
fn quoted(value: &str) -> String {
    Value::String(value.to_string()).to_string()
}

/// `attr eq "a" or attr eq "b" ...`.
fn any_of(attr: &str, values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("{attr} eq {}", quoted(v)))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Percent-encodes a query parameter's value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The user as SCIM has it: core User with the enterprise extension.
pub fn to_scim(u: &DirectoryUser) -> Value {
    let mut enterprise = json!({ "organization": u.organisation });
    if let Some(d) = &u.department {
        enterprise["department"] = json!(d);
    }
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": u.external_id,
        "userName": u.user_name,
        "name": { "givenName": u.given_name, "familyName": u.family_name },
        "displayName": format!("{} {}", u.given_name, u.family_name),
        "emails": [{ "value": u.email, "type": "work", "primary": true }],
        "phoneNumbers": [{ "value": u.phone, "type": "work" }],
        "userType": match u.kind {
            UserKind::PublicOfficer => "Public Officer",
            UserKind::Vendor => "Vendor",
        },
        "active": u.active,
        ENTERPRISE: enterprise,
    })
}

fn remote(user: &Value) -> Result<RemoteUser, DirectoryError> {
    let id = user
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| DirectoryError::unavailable("the server's user has no id"))?;
    Ok(RemoteUser {
        id: id.to_string(),
        external_id: user
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string),
        // RFC 7643: active may be left out; only an account the server says is active
        // counts as activated.
        active: user.get("active").and_then(Value::as_bool).unwrap_or(false),
    })
}

#[async_trait]
impl Directory for ScimDirectory {
    async fn existing(
        &self,
        email_keys: &[String],
        usernames: &[String],
    ) -> Result<Existing, DirectoryError> {
        let mut existing = Existing::default();
        let asked: HashSet<&str> = email_keys.iter().map(String::as_str).collect();
        for part in email_keys.chunks(FILTER_TERMS) {
            for user in self
                .search(&any_of("emails.value", part), "userName,emails")
                .await?
            {
                let emails = user.get("emails").and_then(Value::as_array);
                for email in emails.into_iter().flatten() {
                    if let Some(v) = email.get("value").and_then(Value::as_str) {
                        let key = v.to_lowercase();
                        if asked.contains(key.as_str()) {
                            existing.emails.insert(key);
                        }
                    }
                }
            }
        }
        let asked: HashSet<&str> = usernames.iter().map(String::as_str).collect();
        for part in usernames.chunks(FILTER_TERMS) {
            for user in self.search(&any_of("userName", part), "userName").await? {
                if let Some(name) = user.get("userName").and_then(Value::as_str) {
                    let name = name.to_lowercase();
                    if asked.contains(name.as_str()) {
                        existing.usernames.insert(name);
                    }
                }
            }
        }
        Ok(existing)
    }

    async fn create(&self, user: &DirectoryUser) -> Result<RemoteUser, DirectoryError> {
        let (_, created) = self
            .call(Method::POST, "/Users", Some(to_scim(user)))
            .await?;
        remote(&created)
    }

    async fn find_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<RemoteUser>, DirectoryError> {
        let found = self
            .search(
                &format!("externalId eq {}", quoted(external_id)),
                "externalId,active",
            )
            .await?;
        // externalId is case-exact (RFC 7643 §3.1); a server that matched loosely is checked.
        found
            .iter()
            .map(remote)
            .find(|u| {
                u.as_ref()
                    .map_or(true, |u| u.external_id.as_deref() == Some(external_id))
            })
            .transpose()
    }

    async fn get(&self, id: &str) -> Result<Option<RemoteUser>, DirectoryError> {
        match self
            .call(Method::GET, &format!("/Users/{}", encode(id)), None)
            .await
        {
            Ok((_, user)) => remote(&user).map(Some),
            Err(DirectoryError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<(), DirectoryError> {
        let patch = json!({
            "schemas": [PATCH_OP],
            "Operations": [{ "op": "replace", "path": "active", "value": active }],
        });
        self.call(
            Method::PATCH,
            &format!("/Users/{}", encode(id)),
            Some(patch),
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let e = ScimSettings::from_vars(vars(&[])).unwrap_err();
        assert!(e.starts_with("SCIM_BASE_URL is not set"), "{e}");
        let e = ScimSettings::from_vars(vars(&[("SCIM_BASE_URL", "http://dir.example/scim")]))
            .unwrap_err();
        assert!(e.contains("must be https://"), "{e}");
        let e =
            ScimSettings::from_vars(vars(&[("SCIM_BASE_URL", "http://127.0.0.1:9/")])).unwrap_err();
        assert!(e.starts_with("SCIM_TOKEN is not set"), "{e}");
        let e = ScimSettings::from_vars(vars(&[
            ("SCIM_BASE_URL", "https://dir.example/scim/v2/"),
            ("SCIM_TOKEN", "t"),
            ("SCIM_TIMEOUT_MS", "soon"),
        ]))
        .unwrap_err();
        assert!(e.starts_with("SCIM_TIMEOUT_MS"), "{e}");
        let ok = ScimSettings::from_vars(vars(&[
            ("SCIM_BASE_URL", "https://dir.example/scim/v2/"),
            ("SCIM_TOKEN", "t"),
        ]))
        .expect("settings");
        assert_eq!(ok.base_url, "https://dir.example/scim/v2");
        assert!(!format!("{ok:?}").contains("\"t\""));
    }

    #[test]
    fn filters_quote_and_join_values() {
        assert_eq!(
            any_of("userName", &["a\"b".into(), "c".into()]),
            r#"userName eq "a\"b" or userName eq "c""#
        );
        assert_eq!(encode("a b\"/"), "a%20b%22%2F");
    }

    #[test]
    fn users_carry_the_enterprise_extension_and_external_id() {
        let u = DirectoryUser {
            external_id: "inv-1".into(),
            user_name: "jdoe".into(),
            email: "j@vendor.com".into(),
            kind: UserKind::Vendor,
            given_name: "J".into(),
            family_name: "Doe".into(),
            phone: "+6591234567".into(),
            organisation: "Acme".into(),
            department: None,
            active: false,
        };
        let v = to_scim(&u);
        assert_eq!(v["externalId"], "inv-1");
        assert_eq!(v["emails"][0]["primary"], true);
        assert_eq!(v[ENTERPRISE]["organization"], "Acme");
        assert_eq!(v["active"], false);
    }
}
