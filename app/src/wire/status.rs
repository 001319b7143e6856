//! Invite user status on the wire: the query (kept in the page's address), a page of rows,
//! and what Resend, Revoke and Request SEED onboarding answer.

use serde::{Deserialize, Serialize};

use crate::domain::{seed_request_refusal, AccountState, Delivery, SeedState};

/// The column a status list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    #[default]
    InvitedOn,
    Email,
    Name,
    Status,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [
        SortKey::InvitedOn,
        SortKey::Email,
        SortKey::Name,
        SortKey::Status,
    ];

    /// Its name in the page's address.
    pub fn param(self) -> &'static str {
        match self {
            SortKey::InvitedOn => "invited",
            SortKey::Email => "email",
            SortKey::Name => "name",
            SortKey::Status => "status",
        }
    }

    pub fn from_param(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.param() == s)
    }

    /// Newest first for dates; A to Z for the rest.
    pub fn descending_by_default(self) -> bool {
        self == SortKey::InvitedOn
    }
}

/// What the officer asked to see: kept in the page's address, so a refresh, a bookmark or the
/// Back button shows the same list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusQuery {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    pub sort: SortKey,
    pub descending: bool,
    /// Part of an email address or a name; blank for everyone.
    pub search: String,
    pub status: Option<AccountState>,
}

impl Default for StatusQuery {
    fn default() -> Self {
        StatusQuery {
            page: 1,
            per_page: StatusQuery::PAGE_SIZES[0],
            sort: SortKey::InvitedOn,
            descending: true,
            search: String::new(),
            status: None,
        }
    }
}

impl StatusQuery {
    pub const PAGE_SIZES: [u32; 3] = [25, 50, 100];
    /// The longest search text taken (longer input is cut, not refused).
    pub const MAX_SEARCH: usize = 200;
    pub const PATH: &'static str = "/invite-users/status";

    /// From the page's address. Anything unknown or out of range falls back to the default,
    /// so an edited or old link still shows a list.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> StatusQuery {
        let d = StatusQuery::default();
        let sort = get("sort")
            .and_then(|s| SortKey::from_param(&s))
            .unwrap_or(d.sort);
        let descending = match get("dir").as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort.descending_by_default(),
        };
        let per_page = get("per_page")
            .and_then(|s| s.parse().ok())
            .filter(|n| StatusQuery::PAGE_SIZES.contains(n))
            .unwrap_or(d.per_page);
        StatusQuery {
            page: get("page")
                .and_then(|s| s.parse().ok())
                .filter(|&n| n >= 1)
                .unwrap_or(1),
            per_page,
            sort,
            descending,
            search: get("q")
                .map(|s| s.trim().chars().take(StatusQuery::MAX_SEARCH).collect())
                .unwrap_or_default(),
            status: get("status").and_then(|s| AccountState::from_param(&s)),
        }
    }

    /// The page's address for this query (defaults left out).
    pub fn href(&self) -> String {
        self.href_at(StatusQuery::PATH)
    }

    /// The address of this list as a file, `ext` "csv" or "xlsx" (every page: no page number).
    pub fn export_href(&self, ext: &str) -> String {
        StatusQuery {
            page: 1,
            ..self.clone()
        }
        .href_at(&format!("{}/export.{ext}", StatusQuery::PATH))
    }

    fn href_at(&self, path: &str) -> String {
        let d = StatusQuery::default();
        let mut params: Vec<(&str, String)> = Vec::new();
        if !self.search.is_empty() {
            params.push(("q", self.search.clone()));
        }
        if let Some(s) = self.status {
            params.push(("status", s.param().to_string()));
        }
        if self.sort != d.sort {
            params.push(("sort", self.sort.param().to_string()));
        }
        if self.descending != self.sort.descending_by_default() {
            params.push(("dir", if self.descending { "desc" } else { "asc" }.into()));
        }
        if self.per_page != d.per_page {
            params.push(("per_page", self.per_page.to_string()));
        }
        if self.page != 1 {
            params.push(("page", self.page.to_string()));
        }
        if params.is_empty() {
            return path.to_string();
        }
        let query: Vec<String> = params
            .into_iter()
            .map(|(k, v)| format!("{k}={}", crate::url::percent_encode(&v)))
            .collect();
        format!("{path}?{}", query.join("&"))
    }

    /// Sorted by `key`: the other way round if it already is, from page 1.
    pub fn sorted_by(&self, key: SortKey) -> StatusQuery {
        StatusQuery {
            sort: key,
            descending: if self.sort == key {
                !self.descending
            } else {
                key.descending_by_default()
            },
            page: 1,
            ..self.clone()
        }
    }

    pub fn at_page(&self, page: u32) -> StatusQuery {
        StatusQuery {
            page,
            ..self.clone()
        }
    }
}

/// One invited person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRow {
    pub id: String,
    pub email: String,
    /// Known once the person signed up, or when their account was made for them.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// "officer" or "vendor".
    pub kind: String,
    /// "email", "create" or "batch".
    pub invitation_type: String,
    pub invited_by: String,
    /// Unix ms.
    pub invited_on: i64,
    pub expires_at: i64,
    pub account: AccountState,
    pub seed: SeedState,
    pub delivery: Delivery,
    /// Why the directory would not make the account (Provisioning failed).
    #[serde(default)]
    pub problem: Option<String>,
}

impl StatusRow {
    pub fn name(&self) -> Option<String> {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    }

    pub fn kind_label(&self) -> &'static str {
        if self.kind == "vendor" {
            "Vendor"
        } else {
            "Public officer"
        }
    }

    /// Whether Request SEED onboarding applies to this row (see [`seed_request_refusal`]).
    pub fn can_request_seed(&self) -> bool {
        seed_request_refusal(self.account, self.seed).is_none()
    }

    pub fn type_label(&self) -> &'static str {
        match self.invitation_type.as_str() {
            "email" => "Email invitation",
            "create" => "Create account",
            "batch" => "Batch upload",
            _ => "Other",
        }
    }
}

/// A page of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPage {
    pub rows: Vec<StatusRow>,
    /// Rows matching the search and filter, on every page.
    pub total: u64,
    /// The query answered: its page brought within range.
    pub query: StatusQuery,
    /// Changes whenever any invitation of the agency changes (see [`status_version`]).
    pub version: String,
}

impl StatusPage {
    pub fn pages(&self) -> u32 {
        let per = u64::from(self.query.per_page.max(1));
        u32::try_from(self.total.div_ceil(per).max(1)).unwrap_or(u32::MAX)
    }
}

/// What a Resend, Revoke or Request SEED onboarding did: the addresses it was done for, and
/// each row it was not done for with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub done: Vec<String>,
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub id: String,
    /// Empty when the invitation was not found.
    pub email: String,
    pub reason: String,
}

impl ActionOutcome {
    pub fn refuse(&mut self, id: &str, email: &str, reason: &str) {
        self.refused.push(Refusal {
            id: id.to_string(),
            email: email.to_string(),
            reason: reason.to_string(),
        });
    }
}
