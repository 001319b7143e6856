//! The states an invitation goes through, as the officer sees them and as they are stored.
//! Each enum names its stored text once (`as_str`, `parse`), so the SQL of the services and
//! the labels of the pages read the same words; the open set is [`InvitationStatus::OPEN`].

use serde::{Deserialize, Serialize};

/// An invitation's stored status (`invitations.status`). Expired and Delivery failed are not
/// stored: they are read from the expiry time and the delivery (see [`AccountState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationStatus {
    /// Email invitation sent; the invitee has not signed up yet.
    Invited,
    /// Account made on the person's behalf (Create account, batch); not activated yet.
    Created,
    Active,
    Revoked,
    /// Its account is being made in the TechPass directory (the provisioning queue); its
    /// email goes once the account exists.
    Provisioning,
    /// The directory would not make the account (the reason is stored with it); Retry puts
    /// it back in the queue.
    ProvisioningFailed,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 6] = [
        InvitationStatus::Invited,
        InvitationStatus::Created,
        InvitationStatus::Active,
        InvitationStatus::Revoked,
        InvitationStatus::Provisioning,
        InvitationStatus::ProvisioningFailed,
    ];
    /// The open invitations: their link can still be used (or will be, once the account
    /// exists), and there is at most one for an address in an agency.
    pub const OPEN: [InvitationStatus; 3] = [
        InvitationStatus::Invited,
        InvitationStatus::Created,
        InvitationStatus::Provisioning,
    ];

    /// Its stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Invited => "invited",
            InvitationStatus::Created => "created",
            InvitationStatus::Active => "active",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Provisioning => "provisioning",
            InvitationStatus::ProvisioningFailed => "provisioning_failed",
        }
    }

    pub fn parse(s: &str) -> Option<InvitationStatus> {
        InvitationStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        InvitationStatus::OPEN.contains(&self)
    }
}

/// From the stored text (a row read from the database).
impl TryFrom<String> for InvitationStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        InvitationStatus::parse(&s).ok_or_else(|| format!("unknown invitation status \"{s}\""))
    }
}

/// A TechPass account status as the officer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountState {
    /// Email invitation sent; the invitee has not signed up yet.
    Invited,
    /// Account made on the person's behalf (Create account, batch); not activated yet.
    Created,
    Active,
    /// The link ran out before it was used.
    Expired,
    Revoked,
    /// The email could not be delivered (the relay gave up).
    DeliveryFailed,
    /// The account is being made in the TechPass directory.
    Provisioning,
    /// The directory would not make the account (the row says why).
    ProvisioningFailed,
}

impl AccountState {
    pub const ALL: [AccountState; 8] = [
        AccountState::Invited,
        AccountState::Created,
        AccountState::Active,
        AccountState::Expired,
        AccountState::Revoked,
        AccountState::DeliveryFailed,
        AccountState::Provisioning,
        AccountState::ProvisioningFailed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AccountState::Invited => "Invited",
            AccountState::Created => "Created",
            AccountState::Active => "Active",
            AccountState::Expired => "Expired",
            AccountState::Revoked => "Revoked",
            AccountState::DeliveryFailed => "Delivery failed",
            AccountState::Provisioning => "Provisioning",
            AccountState::ProvisioningFailed => "Provisioning failed",
        }
    }

    /// Its name in the page's address and in the database's computed status.
    pub fn param(self) -> &'static str {
        match self {
            AccountState::Invited => "invited",
            AccountState::Created => "created",
            AccountState::Active => "active",
            AccountState::Expired => "expired",
            AccountState::Revoked => "revoked",
            AccountState::DeliveryFailed => "delivery_failed",
            AccountState::Provisioning => "provisioning",
            AccountState::ProvisioningFailed => "provisioning_failed",
        }
    }

    pub fn from_param(s: &str) -> Option<AccountState> {
        AccountState::ALL.into_iter().find(|k| k.param() == s)
    }
}

/// The SEED licence: Pending once onboarding was asked for (with the invitation, or later
/// with Request SEED onboarding), then as SEED last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeedState {
    NotRequested,
    Pending,
    Licensed,
}

impl SeedState {
    pub fn label(self) -> &'static str {
        match self {
            SeedState::NotRequested => "Not requested",
            SeedState::Pending => "Pending",
            SeedState::Licensed => "Licensed",
        }
    }

    pub fn param(self) -> &'static str {
        match self {
            SeedState::NotRequested => "not_requested",
            SeedState::Pending => "pending",
            SeedState::Licensed => "licensed",
        }
    }

    pub fn from_param(s: &str) -> Option<SeedState> {
        [
            SeedState::NotRequested,
            SeedState::Pending,
            SeedState::Licensed,
        ]
        .into_iter()
        .find(|k| k.param() == s)
    }
}

/// Why nothing more can be done for a revoked invitation (Resend, Request SEED onboarding).
pub const WAS_REVOKED: &str = "was revoked. Send a new invitation if they still need an account";

/// Why SEED onboarding cannot be requested for an invitation in these states, or `None` when
/// it can: the person has a TechPass account (Created or Active) and SEED onboarding was
/// never asked for. The status page shows its button by this rule and the server applies it
/// to every row, so the two always agree.
pub fn seed_request_refusal(account: AccountState, seed: SeedState) -> Option<&'static str> {
    match (account, seed) {
        (AccountState::Revoked, _) => Some(WAS_REVOKED),
        (_, SeedState::Licensed) => Some("already has a SEED licence"),
        (_, SeedState::Pending) => Some("already has SEED onboarding pending"),
        (AccountState::Invited, _) => {
            Some("has no TechPass account yet. Request SEED onboarding once they have signed up")
        }
        (AccountState::Expired, _) => {
            Some("did not use their invitation before it expired. Resend it first")
        }
        (AccountState::DeliveryFailed, _) => {
            Some("could not be emailed (Delivery failed). Resend the invitation first")
        }
        (AccountState::Provisioning, _) => {
            Some("has no TechPass account yet: it is being set up. Try again in a minute")
        }
        (AccountState::ProvisioningFailed, _) => {
            Some("has no TechPass account (provisioning failed). Retry it first")
        }
        (AccountState::Created | AccountState::Active, SeedState::NotRequested) => None,
    }
}

/// The last email sent for an invitation: still queued, handed to the mail server, or given
/// up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    Queued,
    Sent,
    Failed,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Queued => "Queued",
            Delivery::Sent => "Sent",
            Delivery::Failed => "Failed",
        }
    }

    /// Its stored text (`invitations.delivery`).
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
        }
    }

    pub fn from_param(s: &str) -> Option<Delivery> {
        [Delivery::Queued, Delivery::Sent, Delivery::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_onboarding_is_requested_only_for_account_holders_not_yet_asked() {
        for account in AccountState::ALL {
            for seed in [
                SeedState::NotRequested,
                SeedState::Pending,
                SeedState::Licensed,
            ] {
                let allowed = matches!(account, AccountState::Created | AccountState::Active)
                    && seed == SeedState::NotRequested;
                assert_eq!(
                    seed_request_refusal(account, seed).is_none(),
                    allowed,
                    "{account:?} {seed:?}"
                );
            }
        }
        // A second request (a double click) is refused with the reason.
        assert_eq!(
            seed_request_refusal(AccountState::Active, SeedState::Pending),
            Some("already has SEED onboarding pending")
        );
        assert!(
            seed_request_refusal(AccountState::Invited, SeedState::NotRequested)
                .is_some_and(|r| r.starts_with("has no TechPass account yet"))
        );
        assert!(
            seed_request_refusal(AccountState::Revoked, SeedState::Pending)
                .is_some_and(|r| r.starts_with("was revoked"))
        );
    }
}
