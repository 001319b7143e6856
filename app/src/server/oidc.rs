//! Sign-in through the identity provider (`SIGN_IN_MODE=oidc`): TechPass, or any OpenID
//! Connect provider. The authorization code flow with PKCE (S256); `state`, `nonce` and the
//! PKCE verifier kept in the visitor's session and used once; the ID token checked in full by
//! the `openidconnect` crate (signature against the provider's published keys, `iss`, `aud`,
//! `exp`, `iat`, `nonce`, and an `alg` from the provider's own list that is neither `none` nor
//! HMAC) plus `azp`, which the crate leaves to its callers. Sign-out ends the provider's session
//! too (RP-initiated logout), and a back-channel logout from the provider ends ours.
//!
//! The provider's metadata and keys are fetched when first needed and kept for an hour; a
//! token signed with a key not among them has the keys fetched again once, so a key rotation
//! at the provider is picked up without a restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreGenderClaim,
    CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, IdToken, IdTokenClaims, IssuerUrl, JsonWebKey, JsonWebKeyId,
    JsonWebTokenType, JwsSigningAlgorithm, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, PrivateSigningKey,
    ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::auth::{ProviderSession, SignIn};
use crate::domain::{agency_from_claim, Email};
use crate::wire::SignInFailure;

/// The session key of the sign-ins begun and not yet finished.
const PENDING_KEY: &str = "oidc_pending";
/// Sign-ins a session may have begun at once (tabs); the oldest goes first.
const MAX_PENDING: usize = 3;
/// How long a sign-in may take at the provider.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);
/// How long the provider's metadata and keys are kept before they are fetched again.
const METADATA_LIFETIME: Duration = Duration::from_secs(3600);
/// An ID token issued longer ago than this (plus the skew) is refused.
const MAX_TOKEN_AGE: Duration = Duration::from_secs(600);
/// The back-channel logout event a logout token must carry.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How the app proves who it is at the token endpoint (`OIDC_CLIENT_AUTH`).
#[derive(Clone)]
pub enum ClientAuth {
    /// `client_secret_basic` (the default): the secret in an Authorization header.
    SecretBasic(String),
    /// `client_secret_post`: the secret in the request body.
    SecretPost(String),
    /// `private_key_jwt`: a short-lived assertion signed with the app's RSA key, whose public
    /// half is registered at the provider.
    PrivateKeyJwt(Arc<CoreRsaPrivateSigningKey>),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        })
    }
}

/// The sign-in settings, read from `OIDC_*` variables (listed in the README).
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: IssuerUrl,
    pub client_id: ClientId,
    pub client_auth: ClientAuth,
    pub scopes: Vec<String>,
    /// The claim that names Subscription Admins, and the value in it that does.
    pub admin_claim: String,
    pub admin_value: Option<String>,
    /// The claim that names a Subscription Admin's agency.
    pub agency_claim: String,
    /// How far the provider's clock may be from ours.
    pub clock_skew: Duration,
    pub redirect_url: RedirectUrl,
    pub post_logout_url: PostLogoutRedirectUrl,
}

impl OidcSettings {
    /// Reads the settings; an error names the variable and says what it should be.
    /// `public_url` is where the app is reached (the redirect URIs hang off it).
    pub fn from_vars(
        get: impl Fn(&str) -> Option<String>,
        public_url: &str,
    ) -> Result<OidcSettings, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |k: &str, what: &str| {
            var(k).ok_or_else(|| format!("{k} is not set: SIGN_IN_MODE=oidc needs {what}"))
        };
        let issuer = required("OIDC_ISSUER_URL", "the identity provider's issuer URL")?;
        let issuer_url = openidconnect::url::Url::parse(&issuer)
            .map_err(|e| format!("OIDC_ISSUER_URL is not a URL ({e}): \"{issuer}\""))?;
        let loopback = matches!(
            issuer_url.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]")
        );
        if issuer_url.scheme() != "https" && !loopback {
            return Err(format!(
                "OIDC_ISSUER_URL must be https:// (only a provider on this machine may use \
                 http://): \"{issuer}\""
            ));
        }
        let client_id = required("OIDC_CLIENT_ID", "the client ID registered at the provider")?;
        let method = var("OIDC_CLIENT_AUTH").unwrap_or_else(|| "client_secret_basic".into());
        let secret = || {
            required(
                "OIDC_CLIENT_SECRET",
                "the client secret registered at the provider (or OIDC_CLIENT_AUTH=private_key_jwt)",
            )
        };
        let client_auth = match method.as_str() {
            "client_secret_basic" => ClientAuth::SecretBasic(secret()?),
            "client_secret_post" => ClientAuth::SecretPost(secret()?),
            "private_key_jwt" => {
                let path = required(
                    "OIDC_PRIVATE_KEY_FILE",
                    "with OIDC_CLIENT_AUTH=private_key_jwt, the file of the app's RSA private key (PEM)",
                )?;
                let pem = std::fs::read_to_string(&path)
                    .map_err(|e| format!("OIDC_PRIVATE_KEY_FILE {path} could not be read: {e}"))?;
                let kid = var("OIDC_PRIVATE_KEY_ID").map(JsonWebKeyId::new);
                let key = CoreRsaPrivateSigningKey::from_pem(&pem, kid).map_err(|e| {
                    format!(
                        "OIDC_PRIVATE_KEY_FILE {path} is not an RSA private key in PKCS#1 PEM \
                         (-----BEGIN RSA PRIVATE KEY-----; `openssl genrsa -traditional 2048` \
                         makes one): {e}"
                    )
                })?;
                ClientAuth::PrivateKeyJwt(Arc::new(key))
            }
            other => {
                return Err(format!(
                    "OIDC_CLIENT_AUTH must be client_secret_basic, client_secret_post or \
                     private_key_jwt, not \"{other}\""
                ))
            }
        };
        let scopes: Vec<String> = var("OIDC_SCOPES")
            .unwrap_or_else(|| "openid email profile".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err("OIDC_SCOPES must include openid".into());
        }
        let clock_skew = var("OIDC_CLOCK_SKEW_SECS")
            .unwrap_or_else(|| "60".into())
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= 600)
            .ok_or("OIDC_CLOCK_SKEW_SECS must be a whole number of seconds from 0 to 600")?;
        let public_url = public_url.trim_end_matches('/');
        Ok(OidcSettings {
            issuer: IssuerUrl::new(issuer.clone())
                .map_err(|e| format!("OIDC_ISSUER_URL is not a URL ({e}): \"{issuer}\""))?,
            client_id: ClientId::new(client_id),
            client_auth,
            scopes,
            admin_claim: var("OIDC_ADMIN_CLAIM").unwrap_or_else(|| "groups".into()),
            admin_value: var("OIDC_ADMIN_VALUE"),
            agency_claim: var("OIDC_AGENCY_CLAIM").unwrap_or_else(|| "agency".into()),
            clock_skew: Duration::from_secs(clock_skew),
            redirect_url: RedirectUrl::new(format!("{public_url}{CALLBACK_PATH}"))
                .map_err(|e| format!("PUBLIC_URL does not make a redirect URI: {e}"))?,
            post_logout_url: PostLogoutRedirectUrl::new(format!("{public_url}{SIGNED_OUT_PATH}"))
                .map_err(|e| {
                format!("PUBLIC_URL does not make a post-logout URI: {e}")
            })?,
        })
    }
}

/// Where the provider sends the browser back after sign-in (register it at the provider).
pub const CALLBACK_PATH: &str = "/auth/callback";
/// Where the provider sends the browser after signing out (register it at the provider).
pub const SIGNED_OUT_PATH: &str = "/signed-out";
/// Where the provider posts its logout tokens (register it as `backchannel_logout_uri`).
pub const BACKCHANNEL_PATH: &str = "/auth/backchannel-logout";
/// Starts a sign-in (`?next=` the page to come back to).
pub const LOGIN_PATH: &str = "/auth/login";

/// Claims beyond the standard ones: the configured admin and agency claims, `sid`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OtherClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type ProviderIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type ProviderClaims = IdTokenClaims<OtherClaims, CoreGenderClaim>;

/// A sign-in begun: what the callback must find in the session, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
    /// Unix seconds.
    started_at: i64,
}

/// Why a sign-in failed: what to tell the person, and what to log.
#[derive(Debug)]
pub struct Failure {
    pub kind: SignInFailure,
    pub detail: String,
    /// The page to come back to after trying again.
    pub next: Option<String>,
}

impl Failure {
    fn new(kind: SignInFailure, detail: impl Into<String>) -> Failure {
        Failure {
            kind,
            detail: detail.into(),
            next: None,
        }
    }
}

/// What the provider's redirect back carries.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The crate's client as discovery makes it: an authorization endpoint, and maybe a token
/// and a userinfo endpoint.
type RelyingParty = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

struct Discovered {
    metadata: ProviderMetadataWithLogout,
    fetched: Instant,
}

/// The relying party: settings, an HTTP client that follows no redirects, and the provider's
/// metadata and keys as last fetched.
pub struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    provider: tokio::sync::RwLock<Option<Arc<Discovered>>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish()
    }
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Result<Oidc, String> {
        // No redirects: a provider's answer that redirects elsewhere is refused, not followed.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("the HTTP client for the identity provider: {e}"))?;
        Ok(Oidc {
            settings,
            http,
            provider: Default::default(),
            refreshing: Default::default(),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// Fetches the provider's metadata and keys now, at start-up: a provider that does not
    /// answer may be down for a while (sign-in says so until it is back), but one that answers
    /// wrongly is a wrong `OIDC_ISSUER_URL`.
    pub async fn discover(&self) -> Result<(), Discovery> {
        match self.fetch_metadata().await {
            Ok(_) => Ok(()),
            Err(e @ openidconnect::DiscoveryError::Request(_)) => {
                Err(Discovery::Unreachable(e.to_string()))
            }
            Err(e) => Err(Discovery::Wrong(describe(&e))),
        }
    }

    async fn fetch_metadata(
        &self,
    ) -> Result<
        Arc<Discovered>,
        openidconnect::DiscoveryError<openidconnect::HttpClientError<reqwest::Error>>,
    > {
        let metadata =
            ProviderMetadataWithLogout::discover_async(self.settings.issuer.clone(), &self.http)
                .await?;
        let fresh = Arc::new(Discovered {
            metadata,
            fetched: Instant::now(),
        });
        *self.provider.write().await = Some(fresh.clone());
        Ok(fresh)
    }

    /// The provider's metadata and keys, fetched when missing or an hour old. A provider that
    /// does not answer keeps the last ones in use.
    async fn provider(&self) -> Result<Arc<Discovered>, Failure> {
        if let Some(p) = self.provider.read().await.as_ref() {
            if p.fetched.elapsed() < METADATA_LIFETIME {
                return Ok(p.clone());
            }
        }
        let _one_at_a_time = self.refreshing.lock().await;
        if let Some(p) = self.provider.read().await.as_ref() {
            if p.fetched.elapsed() < METADATA_LIFETIME {
                return Ok(p.clone());
            }
        }
        match self.fetch_metadata().await {
            Ok(fresh) => Ok(fresh),
            Err(e) => {
                let detail = format!(
                    "discovery at {} failed: {}",
                    self.settings.issuer.as_str(),
                    describe(&e)
                );
                match self.provider.read().await.as_ref() {
                    Some(stale) => {
                        tracing::warn!(%detail, "using the identity provider's last metadata");
                        Ok(stale.clone())
                    }
                    None => Err(Failure::new(SignInFailure::ProviderDown, detail)),
                }
            }
        }
    }

    /// The provider's keys fetched again, unless someone else did since `seen`.
    async fn refresh_keys(&self, seen: &Arc<Discovered>) -> Result<Arc<Discovered>, Failure> {
        let _one_at_a_time = self.refreshing.lock().await;
        if let Some(current) = self.provider.read().await.as_ref() {
            if !Arc::ptr_eq(current, seen) {
                return Ok(current.clone());
            }
        }
        let jwks = CoreJsonWebKeySet::fetch_async(seen.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| {
                Failure::new(
                    SignInFailure::ProviderDown,
                    format!("fetching the keys: {e}"),
                )
            })?;
        let fresh = Arc::new(Discovered {
            metadata: seen.metadata.clone().set_jwks(jwks),
            fetched: Instant::now(),
        });
        *self.provider.write().await = Some(fresh.clone());
        Ok(fresh)
    }

    fn client(&self, provider: &Discovered) -> RelyingParty {
        let secret = match &self.settings.client_auth {
            ClientAuth::SecretBasic(s) | ClientAuth::SecretPost(s) => {
                Some(ClientSecret::new(s.clone()))
            }
            ClientAuth::PrivateKeyJwt(_) => None,
        };
        let auth_type = match self.settings.client_auth {
            ClientAuth::SecretBasic(_) => AuthType::BasicAuth,
            _ => AuthType::RequestBody,
        };
        CoreClient::from_provider_metadata(
            provider.metadata.clone(),
            self.settings.client_id.clone(),
            secret,
        )
        .set_redirect_uri(self.settings.redirect_url.clone())
        .set_auth_type(auth_type)
    }

    /// Starts a sign-in: remembers it in the session and returns where to send the browser.
    pub async fn begin(
        &self,
        session: &Session,
        next: &str,
    ) -> Result<openidconnect::url::Url, Failure> {
        let provider = self.provider().await.map_err(|mut f| {
            f.next = Some(next.to_string());
            f
        })?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client(&provider);
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let mut pending = pending(session).await;
        pending.push(Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: next.to_string(),
            started_at: now_secs(),
        });
        let excess = pending.len().saturating_sub(MAX_PENDING);
        pending.drain(..excess);
        session
            .insert(PENDING_KEY, pending)
            .await
            .map_err(|e| Failure::new(SignInFailure::ProviderError, format!("session: {e}")))?;
        Ok(url)
    }

    /// Finishes a sign-in from the provider's redirect back: the sign-in it began is taken out
    /// of the session (so the same answer cannot be used twice), the code exchanged, the ID
    /// token checked. Returns who signed in and the page to go to.
    pub async fn finish(
        &self,
        session: &Session,
        callback: Callback,
    ) -> Result<(SignIn, String), Failure> {
        let Some(state) = callback.state.as_deref() else {
            return Err(Failure::new(
                SignInFailure::Expired,
                "callback without state",
            ));
        };
        let mut all = pending(session).await;
        let Some(at) = all
            .iter()
            .position(|p| p.state.as_bytes() == state.as_bytes())
        else {
            return Err(Failure::new(
                SignInFailure::Expired,
                "no sign-in of this session has that state (used already, or never begun here)",
            ));
        };
        let begun = all.remove(at);
        session
            .insert(PENDING_KEY, all)
            .await
            .map_err(|e| Failure::new(SignInFailure::ProviderError, format!("session: {e}")))?;
        let next = begun.next.clone();
        self.complete(begun, callback)
            .await
            .map(|who| (who, next.clone()))
            .map_err(|mut f| {
                f.next = Some(next);
                f
            })
    }

    async fn complete(&self, begun: Pending, callback: Callback) -> Result<SignIn, Failure> {
        if let Some(error) = callback.error {
            let kind = match error.as_str() {
                "access_denied" | "consent_required" | "interaction_required" => {
                    SignInFailure::Denied
                }
                "temporarily_unavailable" => SignInFailure::ProviderDown,
                _ => SignInFailure::ProviderError,
            };
            let detail = format!(
                "the provider answered {error}: {}",
                callback.error_description.unwrap_or_default()
            );
            return Err(Failure::new(kind, detail));
        }
        if now_secs() - begun.started_at > PENDING_LIFETIME.as_secs() as i64 {
            return Err(Failure::new(
                SignInFailure::Expired,
                "the sign-in took over 10 minutes",
            ));
        }
        let Some(code) = callback.code else {
            return Err(Failure::new(
                SignInFailure::ProviderError,
                "callback without a code",
            ));
        };
        let provider = self.provider().await?;
        let client = self.client(&provider);
        let mut exchange = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Failure::new(SignInFailure::ProviderError, e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(begun.pkce_verifier));
        if let ClientAuth::PrivateKeyJwt(key) = &self.settings.client_auth {
            let assertion = self.client_assertion(key, client.token_uri().map(|u| u.as_str()))?;
            exchange = exchange
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion);
        }
        let tokens = exchange
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    let kind = if *r.error() == CoreErrorResponseType::InvalidGrant {
                        SignInFailure::Expired
                    } else {
                        SignInFailure::ProviderError
                    };
                    Failure::new(kind, format!("the token endpoint refused the code: {r}"))
                }
                RequestTokenError::Request(e) => Failure::new(
                    SignInFailure::ProviderDown,
                    format!("the token endpoint: {e}"),
                ),
                RequestTokenError::Parse(e, _) => Failure::new(
                    SignInFailure::Refused,
                    format!("the token endpoint's answer did not parse: {e}"),
                ),
                other => Failure::new(SignInFailure::ProviderError, other.to_string()),
            })?;
        let raw = tokens
            .id_token()
            .ok_or_else(|| Failure::new(SignInFailure::Refused, "no ID token in the answer"))?
            .to_string();
        let id_token: ProviderIdToken = raw
            .parse()
            .map_err(|e| Failure::new(SignInFailure::Refused, format!("ID token: {e}")))?;
        let nonce = Nonce::new(begun.nonce);
        let claims = match self.verified(&provider, &id_token, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Perhaps the provider rotated its keys: fetch them again, once.
                let fresh = self.refresh_keys(&provider).await?;
                self.verified(&fresh, &id_token, &nonce)
            }
            other => other,
        }
        .map_err(refusal)?;
        self.check_azp(&claims)?;
        let mut who = Who::from_claims(&claims, &self.settings);
        if who.email.is_none() {
            // Some providers give the email only from the userinfo endpoint.
            who.fill_from_userinfo(self, &client, tokens.access_token(), &claims)
                .await?;
        }
        who.into_sign_in(&claims, raw, &self.settings)
    }

    /// The ID token checked against `provider`'s keys.
    fn verified(
        &self,
        provider: &Discovered,
        token: &ProviderIdToken,
        nonce: &Nonce,
    ) -> Result<ProviderClaims, ClaimsVerificationError> {
        token.claims(&self.verifier(provider), nonce).cloned()
    }

    fn verifier(&self, provider: &Discovered) -> CoreIdTokenVerifier<'static> {
        // The provider's own list of algorithms, less `none` and the HMAC ones: an HMAC token
        // would be checked with a key others may know (the classic trick signs one with the
        // provider's public key).
        let mut algs: Vec<CoreJwsSigningAlgorithm> = provider
            .metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| !a.uses_shared_secret() && **a != CoreJwsSigningAlgorithm::None)
            .cloned()
            .collect();
        if algs.is_empty() {
            algs.push(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
        }
        let skew = chrono::Duration::from_std(self.settings.clock_skew).unwrap_or_default();
        let oldest = chrono::Duration::from_std(MAX_TOKEN_AGE).unwrap_or_default() + skew;
        CoreIdTokenVerifier::new_public_client(
            self.settings.client_id.clone(),
            self.settings.issuer.clone(),
            provider.metadata.jwks().clone(),
        )
        .set_allowed_algs(algs)
        // `exp` with the skew allowed: "now" is taken that much earlier.
        .set_time_fn(move || chrono::Utc::now() - skew)
        .set_issue_time_verifier_fn(move |iat| {
            let now = chrono::Utc::now();
            if iat > now + skew {
                Err(format!(
                    "{CLOCK}: issued at {iat}, ahead of this server's {now}"
                ))
            } else if iat < now - oldest {
                Err(format!("issued at {iat}, too long before {now}"))
            } else {
                Ok(())
            }
        })
    }

    /// `azp`, which the crate does not check: when present it must be this client, and a token
    /// for several audiences must have one.
    fn check_azp(&self, claims: &ProviderClaims) -> Result<(), Failure> {
        match claims.authorized_party() {
            Some(azp) if **azp != *self.settings.client_id => Err(Failure::new(
                SignInFailure::Refused,
                format!("azp is {}, not this client", azp.as_str()),
            )),
            None if claims.audiences().len() > 1 => Err(Failure::new(
                SignInFailure::Refused,
                "several audiences and no azp",
            )),
            _ => Ok(()),
        }
    }

    /// The assertion `private_key_jwt` sends: iss = sub = the client, aud = the token
    /// endpoint, a minute to live, a fresh jti; signed RS256 by the crate's RSA key.
    fn client_assertion(
        &self,
        key: &CoreRsaPrivateSigningKey,
        token_endpoint: Option<&str>,
    ) -> Result<String, Failure> {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let now = now_secs();
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        let public = key.as_verification_key();
        if let Some(kid) = public.key_id() {
            header["kid"] = serde_json::Value::String(kid.as_str().to_string());
        }
        let claims = serde_json::json!({
            "iss": self.settings.client_id.as_str(),
            "sub": self.settings.client_id.as_str(),
            "aud": token_endpoint.unwrap_or(self.settings.issuer.as_str()),
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "exp": now + 60,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = key
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
            )
            .map_err(|e| Failure::new(SignInFailure::ProviderError, format!("signing: {e}")))?;
        Ok(format!("{input}.{}", b64(&signature)))
    }

    /// Where to send the browser to end the provider's session too, if the provider offers
    /// RP-initiated logout.
    pub async fn end_session_url(
        &self,
        session: &ProviderSession,
    ) -> Option<openidconnect::url::Url> {
        let provider = self.provider().await.ok()?;
        let endpoint = provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(self.settings.client_id.clone())
            .set_post_logout_redirect_uri(self.settings.post_logout_url.clone());
        if let Ok(token) = session.id_token.parse::<ProviderIdToken>() {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url())
    }

    /// Checks a back-channel logout token (the same checks as an ID token's, no nonce allowed,
    /// the logout event required) and returns whose sessions to end: the subject, and the
    /// provider's session ID when it names one.
    pub async fn logout_token(&self, token: &str) -> Result<(String, Option<String>), String> {
        let token: ProviderIdToken = token.parse().map_err(|e| format!("not a JWT: {e}"))?;
        let provider = self.provider().await.map_err(|f| f.detail)?;
        let check = |p: &Discovered| {
            let verifier = self.verifier(p).set_allowed_jose_types([
                JsonWebTokenType::new("logout+jwt".into())
                    .normalize()
                    .expect("a valid type"),
                JsonWebTokenType::new("JWT".into())
                    .normalize()
                    .expect("a valid type"),
            ]);
            token
                .claims(&verifier, |nonce: Option<&Nonce>| match nonce {
                    Some(_) => Err("a logout token must not carry a nonce".to_string()),
                    None => Ok(()),
                })
                .cloned()
        };
        let claims = match check(&provider) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let fresh = self.refresh_keys(&provider).await.map_err(|f| f.detail)?;
                check(&fresh)
            }
            other => other,
        }
        .map_err(|e| e.to_string())?;
        let extra = &claims.additional_claims().claims;
        let is_logout = extra
            .get("events")
            .and_then(|e| e.as_object())
            .is_some_and(|e| e.contains_key(BACKCHANNEL_EVENT));
        if !is_logout {
            return Err("the token carries no back-channel logout event".into());
        }
        let sid = extra
            .get("sid")
            .and_then(|s| s.as_str())
            .map(str::to_string);
        Ok((claims.subject().to_string(), sid))
    }
}

/// What discovery at start-up found wrong.
#[derive(Debug)]
pub enum Discovery {
    /// The provider did not answer (down, or not reachable from here yet).
    Unreachable(String),
    /// It answered, but not as the provider `OIDC_ISSUER_URL` names.
    Wrong(String),
}

/// A discovery error with its causes (the crate's own message is only the outermost).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Marks an `iat` ahead of our clock, so the failure says "clocks" rather than "refused".
const CLOCK: &str = "clock skew";

fn refusal(e: ClaimsVerificationError) -> Failure {
    let kind = match &e {
        ClaimsVerificationError::Expired(m) if m.starts_with(CLOCK) => SignInFailure::Clock,
        ClaimsVerificationError::Expired(_) => SignInFailure::Expired,
        _ => SignInFailure::Refused,
    };
    Failure::new(kind, format!("ID token refused: {}", describe(&e)))
}

/// What the claims say about who signed in, before the rules are applied.
struct Who {
    email: Option<String>,
    email_verified: bool,
    admin: bool,
    agency: Option<String>,
}

impl Who {
    fn from_claims(claims: &ProviderClaims, settings: &OidcSettings) -> Who {
        let extra = &claims.additional_claims().claims;
        Who {
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified() == Some(true),
            admin: is_admin(extra, settings),
            agency: agency(extra, settings),
        }
    }

    async fn fill_from_userinfo(
        &mut self,
        oidc: &Oidc,
        client: &RelyingParty,
        access_token: &AccessToken,
        claims: &ProviderClaims,
    ) -> Result<(), Failure> {
        let Ok(request) = client.user_info(access_token.clone(), Some(claims.subject().clone()))
        else {
            return Ok(());
        };
        let info: openidconnect::UserInfoClaims<OtherClaims, CoreGenderClaim> = request
            .request_async(&oidc.http)
            .await
            .map_err(|e| Failure::new(SignInFailure::ProviderDown, format!("userinfo: {e}")))?;
        let extra = &info.additional_claims().claims;
        self.email = info.email().map(|e| e.as_str().to_string());
        self.email_verified = info.email_verified() == Some(true);
        self.admin |= is_admin(extra, &oidc.settings);
        self.agency = self.agency.take().or_else(|| agency(extra, &oidc.settings));
        Ok(())
    }

    fn into_sign_in(
        self,
        claims: &ProviderClaims,
        id_token: String,
        settings: &OidcSettings,
    ) -> Result<SignIn, Failure> {
        let Some(email) = self.email else {
            return Err(Failure::new(SignInFailure::NoEmail, "no email claim"));
        };
        let email = Email::parse(&email)
            .map_err(|e| Failure::new(SignInFailure::NoEmail, format!("email claim: {e}")))?;
        if !self.email_verified {
            return Err(Failure::new(
                SignInFailure::Unverified,
                format!("{email}: email_verified is not true"),
            ));
        }
        let admin_of = if self.admin {
            if self.agency.is_none() {
                tracing::warn!(
                    %email,
                    claim = %settings.agency_claim,
                    "a Subscription Admin without an agency claim: signed in without admin rights"
                );
            }
            self.agency
        } else {
            None
        };
        let sid = claims
            .additional_claims()
            .claims
            .get("sid")
            .and_then(|s| s.as_str())
            .map(str::to_string);
        Ok(SignIn {
            email,
            email_verified: true,
            admin_of,
            provider: Some(ProviderSession {
                subject: claims.subject().to_string(),
                sid,
                id_token,
            }),
        })
    }
}

/// Whether the admin claim holds the configured value (a list containing it, or the value).
fn is_admin(claims: &HashMap<String, serde_json::Value>, settings: &OidcSettings) -> bool {
    let Some(value) = settings.admin_value.as_deref() else {
        return false;
    };
    match claims.get(&settings.admin_claim) {
        Some(serde_json::Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(value)),
        Some(serde_json::Value::String(s)) => s.split(' ').any(|s| s == value),
        _ => false,
    }
}

fn agency(claims: &HashMap<String, serde_json::Value>, settings: &OidcSettings) -> Option<String> {
    claims
        .get(&settings.agency_claim)
        .and_then(|v| v.as_str())
        .and_then(agency_from_claim)
}

/// The sign-ins this session has begun.
async fn pending(session: &Session) -> Vec<Pending> {
    session
        .get::<Vec<Pending>>(PENDING_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<OidcSettings, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OidcSettings::from_vars(|k| vars.get(k).cloned(), "https://invite.example.gov.sg")
    }

    const GOOD: [(&str, &str); 3] = [
        ("OIDC_ISSUER_URL", "https://id.example.gov.sg"),
        ("OIDC_CLIENT_ID", "techbiz"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
    ];

    #[test]
    fn a_missing_or_bad_setting_names_its_variable() {
        assert!(settings(&GOOD).is_ok());
        for missing in ["OIDC_ISSUER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"] {
            let vars: Vec<_> = GOOD
                .iter()
                .filter(|(k, _)| *k != missing)
                .cloned()
                .collect();
            let e = settings(&vars).expect_err(missing);
            assert!(e.starts_with(missing), "{e}");
        }
        let mut vars = GOOD.to_vec();
        vars[0] = ("OIDC_ISSUER_URL", "http://id.example.gov.sg");
        assert!(settings(&vars)
            .expect_err("http")
            .contains("OIDC_ISSUER_URL"));
        let mut vars = GOOD.to_vec();
        vars.push(("OIDC_CLIENT_AUTH", "magic"));
        assert!(settings(&vars)
            .expect_err("auth")
            .contains("OIDC_CLIENT_AUTH"));
        let mut vars = GOOD.to_vec();
        vars.push(("OIDC_CLIENT_AUTH", "private_key_jwt"));
        assert!(settings(&vars)
            .expect_err("key")
            .starts_with("OIDC_PRIVATE_KEY_FILE"));
        let mut vars = GOOD.to_vec();
        vars.push(("OIDC_SCOPES", "email profile"));
        assert!(settings(&vars).expect_err("scopes").contains("OIDC_SCOPES"));
        let mut vars = GOOD.to_vec();
        vars.push(("OIDC_CLOCK_SKEW_SECS", "-1"));
        assert!(settings(&vars)
            .expect_err("skew")
            .contains("OIDC_CLOCK_SKEW_SECS"));
    }

    #[test]
    fn the_redirect_uris_hang_off_the_public_url() {
        let s = settings(&GOOD).expect("settings");
        assert_eq!(
            s.redirect_url.as_str(),
            "https://invite.example.gov.sg/auth/callback"
        );
        assert_eq!(
            s.post_logout_url.as_str(),
            "https://invite.example.gov.sg/signed-out"
        );
        assert_eq!(s.scopes, ["openid", "email", "profile"]);
    }

    #[test]
    fn admins_are_named_by_the_configured_claim_and_value() {
        let mut vars = GOOD.to_vec();
        vars.push(("OIDC_ADMIN_VALUE", "techbiz-admin"));
        let s = settings(&vars).expect("settings");
        let claims = |v: serde_json::Value| HashMap::from([("groups".to_string(), v)]);
        assert!(is_admin(
            &claims(serde_json::json!(["x", "techbiz-admin"])),
            &s
        ));
        assert!(is_admin(&claims(serde_json::json!("x techbiz-admin")), &s));
        assert!(!is_admin(
            &claims(serde_json::json!(["techbiz-admin-not"])),
            &s
        ));
        assert!(!is_admin(&HashMap::new(), &s));
        let s = settings(&GOOD).expect("no admin value");
        assert!(
            !is_admin(&claims(serde_json::json!(["techbiz-admin"])), &s),
            "no value, no admins"
        );
    }
}
