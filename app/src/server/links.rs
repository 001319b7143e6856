//! Invitation links. The token in a link is never stored: the database holds only its hash
//! (to find the invitation) and the outbox holds the email with a placeholder where the link's
//! token goes. The relay renders the token at send time from the outbox message's id and a
//! secret the database does not hold (`LINK_SECRET`), so a copy of the database opens no
//! invitation.
//!
//! Changing `LINK_SECRET` breaks the links of messages still queued (not those already sent,
//! whose hashes are stored); Resend gives such invitees a working link.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Stands in the outbox for the token of the message's link (letters and `_` only, so it
/// survives HTML escaping and quoted-printable unchanged).
pub const TOKEN_PLACEHOLDER: &str = "TECHBIZ_LINK_TOKEN_RENDERED_AT_SEND_TIME";

/// The secret the tokens are made with. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkSecret(Vec<u8>);

/// The shortest secret accepted outside development.
pub const MIN_SECRET_LEN: usize = 32;

impl LinkSecret {
    pub fn new(secret: impl Into<Vec<u8>>) -> LinkSecret {
        LinkSecret(secret.into())
    }

    /// The token of the link carried by the outbox message `mail_id` (43 characters of
    /// base64url: 256 bits).
    pub fn token_for(&self, mail_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(b"techbiz-invite link v1\0");
        mac.update(mail_id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A new link: the id its outbox message must have, and the hash to store on the
    /// invitation. The token itself exists only when the relay sends the message.
    pub fn new_link(&self) -> NewLink {
        let mail_id = uuid::Uuid::now_v7().to_string();
        let token_hash = hash_token(&self.token_for(&mail_id));
        NewLink {
            mail_id,
            token_hash,
        }
    }

    /// The message as it goes out: the placeholder replaced by the message's token.
    pub fn render(&self, mail_id: &str, body: &str) -> String {
        if body.contains(TOKEN_PLACEHOLDER) {
            body.replace(TOKEN_PLACEHOLDER, &self.token_for(mail_id))
        } else {
            body.to_string()
        }
    }
}

impl std::fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSecret(..)")
    }
}

/// A link about to be queued.
#[derive(Debug, Clone)]
pub struct NewLink {
    /// The id of the outbox message that will carry it.
    pub mail_id: String,
    /// What the invitation stores to find itself by the token.
    pub token_hash: String,
}

/// How a token is stored and looked up.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unguessable_without_the_secret_and_only_their_hash_is_kept() {
        let key = LinkSecret::new(*b"0123456789abcdef0123456789abcdef");
        let other = LinkSecret::new(*b"fedcba9876543210fedcba9876543210");
        let a = key.new_link();
        let b = key.new_link();
        assert_ne!(a.mail_id, b.mail_id);
        assert_ne!(a.token_hash, b.token_hash);
        let token = key.token_for(&a.mail_id);
        assert_eq!(token.len(), 43, "256 bits, base64url");
        assert_eq!(hash_token(&token), a.token_hash);
        assert_ne!(
            other.token_for(&a.mail_id),
            token,
            "another secret, another token"
        );
        assert!(!a.token_hash.contains(&token));
        assert_eq!(format!("{key:?}"), "LinkSecret(..)");
    }

    #[test]
    fn rendering_puts_the_token_where_the_placeholder_was() {
        let key = LinkSecret::new(*b"0123456789abcdef0123456789abcdef");
        let body = format!("Open https://x.test/invitations/accept?token={TOKEN_PLACEHOLDER} now");
        let out = key.render("m1", &body);
        assert_eq!(
            out,
            format!(
                "Open https://x.test/invitations/accept?token={} now",
                key.token_for("m1")
            )
        );
        assert_eq!(key.render("m1", "no link here"), "no link here");
    }
}
