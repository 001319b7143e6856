//! Rate limits per client address (tower_governor) on what can be guessed at or flooded:
//! sign-in, the invitation link (its pages and its server functions) and the webhooks (SEED).
//!
//! Each group has one bucket per client address: a burst, then one more request every
//! period. Past it the answer is 429 with `Retry-After` (whole seconds, rounded up) and a
//! message a person can read: for a server function an `AppError` (the page shows its
//! message), for anything else plain text. Every other route is not limited.
//!
//! The client is the peer address (`ConnectInfo`, so the server must be served with
//! `into_make_service_with_connect_info::<SocketAddr>()`), or behind reverse proxies
//! (`RATE_LIMIT_PROXIES=N`) the address the outermost of them saw: the N-th of
//! `X-Forwarded-For` from the right, which a client cannot forge (it can only add addresses
//! on the left).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use app::error::AppError;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use futures::future::BoxFuture;
use governor::clock::DefaultClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::RateLimiter;
use leptos::server_fn::ServerFn;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

/// A burst of `burst` requests, then one more every `every`: written `10/6s` in the
/// configuration (units `ms`, `s`, `m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: NonZeroU32,
    pub every: Duration,
}

impl Limit {
    const fn new(burst: u32, every: Duration) -> Limit {
        match NonZeroU32::new(burst) {
            Some(burst) => Limit { burst, every },
            None => panic!("a burst of at least one"),
        }
    }

    /// `10/6s` -> a burst of 10, then one every 6 s. Neither may be zero.
    pub fn parse(text: &str) -> Option<Limit> {
        let (burst, every) = text.trim().split_once('/')?;
        let burst = NonZeroU32::new(burst.trim().parse().ok()?)?;
        let every = every.trim();
        let digits = every.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let n: u64 = digits.trim().parse().ok()?;
        let every = match &every[digits.len()..] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            _ => return None,
        };
        (!every.is_zero()).then_some(Limit { burst, every })
    }
}

/// The limits of each group, per client address (`RATE_LIMIT_*`, see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `RATE_LIMIT_SIGN_IN`: the sign-in server function.
    pub sign_in: Limit,
    /// `RATE_LIMIT_LINKS`: the invitation link's pages and server functions, together.
    pub links: Limit,
    /// `RATE_LIMIT_WEBHOOK`: the webhooks (SEED's licence reports).
    pub webhook: Limit,
    /// `RATE_LIMIT_PROXIES`: how many reverse proxies in front of the server append the
    /// address they saw to `X-Forwarded-For` (0: none, the peer is the client).
    pub proxies: usize,
}

impl RateLimits {
    /// Sign-in: enough for a person who mistypes a few times, too few to try addresses.
    pub const SIGN_IN: Limit = Limit::new(10, Duration::from_secs(6));
    /// An invitee opens the link, continues and signs up: three requests. Thirty and one a
    /// second leave room for an office behind one address, not for guessing tokens.
    pub const LINKS: Limit = Limit::new(30, Duration::from_secs(1));
    /// SEED sends reports in batches.
    pub const WEBHOOK: Limit = Limit::new(60, Duration::from_secs(1));

    /// Reads `RATE_LIMIT_SIGN_IN`, `RATE_LIMIT_LINKS` and `RATE_LIMIT_WEBHOOK` through `var`
    /// (name, default -> value); the error names the variable.
    pub fn from_vars(var: impl Fn(&str, &str) -> String) -> Result<RateLimits, String> {
        let limit = |name: &str, default: &str| {
            let text = var(name, default);
            Limit::parse(&text).ok_or_else(|| {
                format!(
                    "{name} must look like {default} (a burst of requests per client address, \
                     then one more every period; units ms, s or m; neither zero), not \"{text}\""
                )
            })
        };
        let proxies = var("RATE_LIMIT_PROXIES", "0");
        let proxies = proxies.parse().ok().filter(|n| *n <= 10).ok_or_else(|| {
            format!(
                "RATE_LIMIT_PROXIES must be the number of reverse proxies in front of the \
                     server, 0 to 10, not \"{proxies}\""
            )
        })?;
        Ok(RateLimits {
            sign_in: limit("RATE_LIMIT_SIGN_IN", "10/6s")?,
            links: limit("RATE_LIMIT_LINKS", "30/1s")?,
            webhook: limit("RATE_LIMIT_WEBHOOK", "60/1s")?,
            proxies,
        })
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            sign_in: RateLimits::SIGN_IN,
            links: RateLimits::LINKS,
            webhook: RateLimits::WEBHOOK,
            proxies: 0,
        }
    }
}

/// How a limited path is matched.
#[derive(Debug, Clone, Copy)]
enum Path {
    Exact(&'static str),
    Under(&'static str),
}

impl Path {
    fn matches(self, path: &str) -> bool {
        match self {
            Path::Exact(p) => path == p,
            Path::Under(prefix) => path.starts_with(prefix),
        }
    }
}

/// What a refused request gets back.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// A server function: an `AppError` in JSON, which the page shows.
    ServerFn,
    PlainText,
}

type Governed = GovernorLayer<ClientAddress, NoOpMiddleware, Body>;

struct Limited {
    group: &'static str,
    path: Path,
    governor: Governed,
}

/// The layer: `Router::layer(RateLimitLayer::new(&limits))`. Inside the request tracing (a
/// refusal has a Trace ID and is logged), outside sessions and the CSRF check (a refused
/// request costs no database work).
#[derive(Clone)]
pub struct RateLimitLayer {
    limited: Arc<Vec<Limited>>,
}

impl RateLimitLayer {
    pub fn new(limits: &RateLimits) -> RateLimitLayer {
        let client = ClientAddress {
            proxies: limits.proxies,
        };
        let sign_in = bucket(limits.sign_in, client);
        let links = bucket(limits.links, client);
        let webhook = bucket(limits.webhook, client);
        // Server functions, refused with an `AppError`.
        let server_fns = [
            ("sign-in", app::api::SignIn::PATH, &sign_in),
            ("links", app::api::OpenInvitation::PATH, &links),
            ("links", app::api::CompleteSignUp::PATH, &links),
            ("links", app::api::ActivateAccount::PATH, &links),
        ];
        // Everything under a prefix, refused in plain text: the link's page (and any other under
        // /invitations/, all public) shares one bucket with its server functions.
        let prefixes = [
            ("sign-in", "/auth/", &sign_in),
            ("links", "/invitations/", &links),
            ("webhook", "/webhooks/", &webhook),
        ];
        let limited = server_fns
            .into_iter()
            .map(|(group, path, bucket)| {
                limited(group, Path::Exact(path), bucket, Answer::ServerFn)
            })
            .chain(prefixes.into_iter().map(|(group, prefix, bucket)| {
                limited(group, Path::Under(prefix), bucket, Answer::PlainText)
            }))
            .collect();
        RateLimitLayer {
            limited: Arc::new(limited),
        }
    }
}

type Bucket = Arc<GovernorConfig<ClientAddress, NoOpMiddleware>>;

fn bucket(limit: Limit, client: ClientAddress) -> Bucket {
    let config = GovernorConfigBuilder::default()
        .key_extractor(client)
        .period(limit.every)
        .burst_size(limit.burst.get())
        .finish()
        // `finish` refuses only a zero burst or period, which `Limit` cannot hold.
        .expect("a limit is never zero");
    forget_idle_clients(Arc::downgrade(config.limiter()));
    Arc::new(config)
}

fn limited(group: &'static str, path: Path, bucket: &Bucket, answer: Answer) -> Limited {
    Limited {
        group,
        path,
        governor: GovernorLayer::new(bucket.clone())
            .error_handler(move |error| refusal(answer, error)),
    }
}

/// Whom a request counts against: the peer, or behind `proxies` reverse proxies the address
/// the outermost one saw.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress {
    proxies: usize,
}

impl ClientAddress {
    fn of(self, forwarded_for: &[&str], peer: Option<IpAddr>) -> Option<IpAddr> {
        if self.proxies == 0 {
            return peer;
        }
        // Each proxy appends the address it saw: the outermost proxy's is `proxies`-th from
        // the right. Fewer entries (a request that did not come through them all): the peer.
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .collect();
        match hops.len().checked_sub(self.proxies).map(|i| hops[i]) {
            Some(hop) => hop
                .parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
                .or(peer),
            None => peer,
        }
    }
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let forwarded_for: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        self.of(&forwarded_for, peer)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

type Limiter = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, NoOpMiddleware>;

/// The limiter keeps a little state per address: drop what has refilled, every minute, for
/// as long as the limiter lives.
fn forget_idle_clients(limiter: Weak<Limiter>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let Some(alive) = limiter.upgrade() else {
                return;
            };
            alive.retain_recent();
            alive.shrink_to_fit();
        }
    });
}

fn refusal(answer: Answer, error: GovernorError) -> Response<Body> {
    let GovernorError::TooManyRequests { wait_time, .. } = error else {
        // Only without the peer address: the server was not served with ConnectInfo.
        tracing::error!(error = %error, "rate limit: no client address");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // tower_governor rounds the wait down; a client that waits this long is let in.
    let seconds = wait_time + 1;
    let message = format!(
        "Too many requests from your address. Try again in {seconds} second{}.",
        if seconds == 1 { "" } else { "s" }
    );
    let mut res = match answer {
        Answer::ServerFn => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(AppError::Forbidden { message }),
        )
            .into_response(),
        Answer::PlainText => (StatusCode::TOO_MANY_REQUESTS, message).into_response(),
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    res
}

impl<S> Layer<S> for RateLimitLayer
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        let limited = self
            .limited
            .iter()
            .map(|l| {
                let service = BoxCloneSyncService::new(l.governor.layer(inner.clone()));
                (l.group, l.path, service)
            })
            .collect();
        RateLimited {
            inner,
            limited: Arc::new(limited),
        }
    }
}

type LimitedService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// The service of [`RateLimitLayer`]: a limited path goes through its group's governor, any
/// other straight to the app.
#[derive(Clone)]
pub struct RateLimited<S> {
    inner: S,
    limited: Arc<Vec<(&'static str, Path, LimitedService)>>,
}

impl<S> Service<Request<Body>> for RateLimited<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call drives a clone to readiness itself (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let path = req.uri().path();
        let Some((group, service)) = self
            .limited
            .iter()
            .find(|(_, p, _)| p.matches(path))
            .map(|(group, _, service)| (*group, service.clone()))
        else {
            return Box::pin(self.inner.clone().oneshot(req));
        };
        let client = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let path = path.to_string();
        Box::pin(async move {
            let res = service.oneshot(req).await?;
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                tracing::warn!(group, path, client = ?client, "rate limit reached: refused");
            }
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_burst_and_period() {
        let l = Limit::parse("10/6s").expect("10/6s");
        assert_eq!((l.burst.get(), l.every), (10, Duration::from_secs(6)));
        let l = Limit::parse(" 300 / 250ms ").expect("spaces");
        assert_eq!((l.burst.get(), l.every), (300, Duration::from_millis(250)));
        let l = Limit::parse("5/2m").expect("minutes");
        assert_eq!(l.every, Duration::from_secs(120));
        for bad in [
            "", "10", "/6s", "10/", "0/6s", "10/0s", "10/6", "10/6h", "-1/6s", "10/s", "1.5/6s",
        ] {
            assert_eq!(Limit::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let limits = RateLimits::from_vars(|_, default| default.to_string()).expect("defaults");
        assert_eq!(limits, RateLimits::default());
        assert_eq!(limits.sign_in.burst.get(), 10);
        assert_eq!(limits.sign_in.every, Duration::from_secs(6));
    }

    #[test]
    fn the_client_is_the_peer_or_what_the_outermost_proxy_saw() {
        let peer: Option<IpAddr> = "10.0.0.9".parse().ok();
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let direct = ClientAddress { proxies: 0 };
        assert_eq!(
            direct.of(&["203.0.113.7"], peer),
            peer,
            "no proxy: the header is ignored"
        );
        let one = ClientAddress { proxies: 1 };
        assert_eq!(one.of(&["203.0.113.7"], peer), ip("203.0.113.7"));
        assert_eq!(
            one.of(&["1.2.3.4, 203.0.113.7"], peer),
            ip("203.0.113.7"),
            "a client's own X-Forwarded-For is on the left and does not count"
        );
        assert_eq!(one.of(&["1.2.3.4", "203.0.113.7"], peer), ip("203.0.113.7"));
        assert_eq!(one.of(&[], peer), peer);
        assert_eq!(one.of(&["nonsense"], peer), peer);
        assert_eq!(one.of(&["[2001:db8::1]:4711"], peer), ip("2001:db8::1"));
        let two = ClientAddress { proxies: 2 };
        assert_eq!(
            two.of(&["1.2.3.4, 198.51.100.2, 10.0.0.3"], peer),
            ip("198.51.100.2")
        );
        assert_eq!(two.of(&["10.0.0.3"], peer), peer);
    }

    #[test]
    fn the_limited_paths_are_the_server_functions_they_name() {
        assert_eq!(app::api::SignIn::PATH, "/api/sign_in");
        assert_eq!(app::api::OpenInvitation::PATH, "/api/open_invitation");
        assert_eq!(app::api::CompleteSignUp::PATH, "/api/complete_sign_up");
        assert_eq!(app::api::ActivateAccount::PATH, "/api/activate_account");
        assert!(Path::Under("/invitations/").matches("/invitations/accept"));
        assert!(!Path::Exact("/api/sign_in").matches("/api/sign_in_later"));
    }
}
