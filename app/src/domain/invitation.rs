//! The two single-person forms, as typed (`Raw…`) and as parsed: an email invitation for a
//! public officer, and a new TechPass account for a public officer or a vendor (which batch
//! upload rows reuse).
//!
//! Parsing collects every field's error, in the order of the form's fields, so the user sees
//! all that needs fixing at once. Each error's `field` is the name of the raw struct's field,
//! which is also the form input's `name`.

use serde::{Deserialize, Serialize};

use super::person::{
    username_given, ContactNumber, Department, Organisation, PersonName, Reason, SeedRequired,
    TechPassUsername,
};
use super::{Email, FieldError, UserKind};

/// The email invitation form as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEmailInvite {
    pub email: String,
    pub seed_required: String,
    pub reason: String,
}

impl RawEmailInvite {
    /// The field names, in the order of the form.
    pub const FIELDS: [&'static str; 3] = ["email", "seed_required", "reason"];
}

/// A valid email invitation: to a public officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailInvite {
    pub email: Email,
    pub seed_required: bool,
    pub reason: Reason,
}

impl EmailInvite {
    pub fn parse(raw: &RawEmailInvite) -> Result<EmailInvite, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = keep(&mut errors, "email", officer_email_rule(&raw.email));
        let seed = keep(
            &mut errors,
            "seed_required",
            SeedRequired::parse(&raw.seed_required),
        );
        let reason = keep(&mut errors, "reason", Reason::parse(&raw.reason));
        match (email, seed, reason) {
            (Some(email), Some(seed), Some(reason)) if errors.is_empty() => Ok(EmailInvite {
                email,
                seed_required: seed.value(),
                reason,
            }),
            _ => Err(errors),
        }
    }
}

/// The message for one field of the email invitation form (`None` if it is fine, or if there
/// is no such field): for checking a field as the user leaves it.
pub fn check_email_invite_field(raw: &RawEmailInvite, field: &str) -> Option<String> {
    match field {
        "email" => officer_email_rule(&raw.email).err(),
        "seed_required" => SeedRequired::parse(&raw.seed_required).err(),
        "reason" => Reason::parse(&raw.reason).err(),
        _ => None,
    }
}

/// The "Email address" of an email invitation: a valid address of a public officer.
pub fn officer_email_rule(input: &str) -> Result<Email, String> {
    let email = Email::parse(input)?;
    match email.kind() {
        UserKind::PublicOfficer => Ok(email),
        UserKind::Vendor => Err("Email invitations are for public officers, with an email \
                                 address ending in gov.sg. To give a vendor a TechPass \
                                 account, use Create account"
            .into()),
    }
}

/// The create account form (and a batch upload row) as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawAccount {
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub contact_number: String,
    pub organisation: String,
    pub department: String,
    pub seed_required: String,
    pub reason: String,
}

impl RawAccount {
    /// The field names, in the order of the form.
    pub const FIELDS: [&'static str; 9] = [
        "email",
        "username",
        "first_name",
        "last_name",
        "contact_number",
        "organisation",
        "department",
        "seed_required",
        "reason",
    ];

    /// The values, in the order of [`RawAccount::FIELDS`].
    pub fn values(&self) -> [&str; 9] {
        [
            &self.email,
            &self.username,
            &self.first_name,
            &self.last_name,
            &self.contact_number,
            &self.organisation,
            &self.department,
            &self.seed_required,
            &self.reason,
        ]
    }

    /// The account of `values`, in the order of [`RawAccount::FIELDS`] (what
    /// [`RawAccount::values`] gives).
    pub fn from_values(values: [String; 9]) -> RawAccount {
        let [email, username, first_name, last_name, contact_number, organisation, department, seed_required, reason] =
            values;
        RawAccount {
            email,
            username,
            first_name,
            last_name,
            contact_number,
            organisation,
            department,
            seed_required,
            reason,
        }
    }

    /// The value of the field named `field` (one of [`RawAccount::FIELDS`]).
    pub fn value(&self, field: &str) -> Option<&str> {
        let i = Self::FIELDS.iter().position(|f| *f == field)?;
        Some(self.values()[i])
    }

    /// The value of the field named `field`, to change it.
    pub fn value_mut(&mut self, field: &str) -> Option<&mut String> {
        Some(match field {
            "email" => &mut self.email,
            "username" => &mut self.username,
            "first_name" => &mut self.first_name,
            "last_name" => &mut self.last_name,
            "contact_number" => &mut self.contact_number,
            "organisation" => &mut self.organisation,
            "department" => &mut self.department,
            "seed_required" => &mut self.seed_required,
            "reason" => &mut self.reason,
            _ => return None,
        })
    }
}

/// A valid new TechPass account. `kind` follows from `email`; `username` is `Some` exactly
/// for vendors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub email: Email,
    pub kind: UserKind,
    pub username: Option<TechPassUsername>,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub contact_number: ContactNumber,
    pub organisation: Organisation,
    pub department: Option<Department>,
    pub seed_required: bool,
    pub reason: Reason,
}

impl NewAccount {
    pub fn parse(raw: &RawAccount) -> Result<NewAccount, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        // The address is parsed once: the username's rule depends on it.
        let parsed = Email::parse(&raw.email);
        let username = username_rule_for(&parsed, &raw.username);
        let email = keep(e, "email", parsed);
        let username = keep(e, "username", username);
        let first_name = keep(e, "first_name", PersonName::parse_first(&raw.first_name));
        let last_name = keep(e, "last_name", PersonName::parse_last(&raw.last_name));
        let contact_number = keep(
            e,
            "contact_number",
            ContactNumber::parse(&raw.contact_number),
        );
        let organisation = keep(e, "organisation", Organisation::parse(&raw.organisation));
        let department = keep(e, "department", Department::parse_optional(&raw.department));
        let seed = keep(e, "seed_required", SeedRequired::parse(&raw.seed_required));
        let reason = keep(e, "reason", Reason::parse(&raw.reason));
        match (
            email,
            username,
            first_name,
            last_name,
            contact_number,
            organisation,
            department,
            seed,
            reason,
        ) {
            (
                Some(email),
                Some(username),
                Some(first_name),
                Some(last_name),
                Some(contact_number),
                Some(organisation),
                Some(department),
                Some(seed),
                Some(reason),
            ) if errors.is_empty() => Ok(NewAccount {
                kind: email.kind(),
                email,
                username,
                first_name,
                last_name,
                contact_number,
                organisation,
                department,
                seed_required: seed.value(),
                reason,
            }),
            _ => Err(errors),
        }
    }
}

/// The message for one field of the create account form (`None` if it is fine, or if there
/// is no such field): for checking a field as the user leaves it. The username's rule
/// depends on the email address, so check `username` again when `email` changes.
pub fn check_account_field(raw: &RawAccount, field: &str) -> Option<String> {
    check_field(raw, field, || Email::check(&raw.email))
}

impl NewAccount {
    /// What [`NewAccount::parse`] would find wrong with `raw`, the same messages in the same
    /// order, without keeping any value: the batch upload checks every row of a file so.
    pub fn problems(raw: &RawAccount) -> Vec<FieldError> {
        // Nearly every row of a file is ordinary, and fine: a byte scan of each field says
        // so without the rules' trims, copies and messages.
        if plainly_valid(raw) {
            return Vec::new();
        }
        Self::problems_by_rule(raw)
    }

    /// [`NewAccount::problems`] field by field through the rules, without the byte scans.
    fn problems_by_rule(raw: &RawAccount) -> Vec<FieldError> {
        // The address once: the username's rule depends on it.
        let email = Email::check(&raw.email);
        RawAccount::FIELDS
            .iter()
            .filter_map(|&field| {
                check_field(raw, field, || email.clone())
                    .map(|message| FieldError::new(field, message))
            })
            .collect()
    }
}

/// Whether each field's byte scan finds the field fine as it is: true only for a row whose
/// every field its rule accepts (`problems_by_rule` finds nothing); false for anything
/// else, which the rules then judge.
fn plainly_valid(raw: &RawAccount) -> bool {
    let Some(kind) = Email::plain_kind(&raw.email) else {
        return false;
    };
    let username = match kind {
        UserKind::PublicOfficer => raw.username.is_empty(),
        UserKind::Vendor => TechPassUsername::plainly_valid(&raw.username),
    };
    username
        && PersonName::plainly_valid(&raw.first_name)
        && PersonName::plainly_valid(&raw.last_name)
        && ContactNumber::plainly_valid(&raw.contact_number)
        && Organisation::plainly_valid(&raw.organisation)
        && Department::plainly_valid(&raw.department)
        && SeedRequired::parse(&raw.seed_required).is_ok()
        && Reason::plainly_valid(&raw.reason)
}

/// One field's rule; `email` checks the address (whose it is, or why not) for the fields that
/// depend on it.
fn check_field(
    raw: &RawAccount,
    field: &str,
    email: impl FnOnce() -> Result<UserKind, String>,
) -> Option<String> {
    match field {
        "email" => email().err(),
        "username" => match username_wanted(email().ok(), &raw.username) {
            Ok(true) => TechPassUsername::check(&raw.username).err(),
            Ok(false) => None,
            Err(message) => Some(message),
        },
        "first_name" => PersonName::check_first(&raw.first_name).err(),
        "last_name" => PersonName::check_last(&raw.last_name).err(),
        "contact_number" => ContactNumber::check(&raw.contact_number).err(),
        "organisation" => Organisation::check(&raw.organisation).err(),
        "department" => Department::check_optional(&raw.department).err(),
        "seed_required" => SeedRequired::parse(&raw.seed_required).err(),
        "reason" => Reason::check(&raw.reason).err(),
        _ => None,
    }
}

/// The username against the kind of user the email address makes (already parsed).
fn username_rule_for(
    email: &Result<Email, String>,
    username: &str,
) -> Result<Option<TechPassUsername>, String> {
    if username_wanted(email.as_ref().ok().map(Email::kind), username)? {
        TechPassUsername::parse(username).map(Some)
    } else {
        Ok(None)
    }
}

/// Whether the username is to be checked against its pattern, for the kind of user the
/// address makes (`None` while the address is not valid); or why the kind refuses it. While
/// the kind is unknown, an empty username is not reported (the email field has the error)
/// and a given one is checked only against the pattern.
fn username_wanted(kind: Option<UserKind>, username: &str) -> Result<bool, String> {
    match kind {
        Some(kind) => username_given(kind, username),
        None => Ok(!username.trim().is_empty()),
    }
}

/// Records a field's error and hands back its value, if any.
fn keep<T>(errors: &mut Vec<FieldError>, field: &str, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn officer_invite() -> RawEmailInvite {
        RawEmailInvite {
            email: " Jane_Tan@Tech.Gov.SG ".into(),
            seed_required: "Yes".into(),
            reason: "Joining the data team".into(),
        }
    }

    fn vendor_account() -> RawAccount {
        RawAccount {
            email: "li.wei@vendor.com.sg".into(),
            username: "Li.Wei".into(),
            first_name: "Li".into(),
            last_name: "Wei".into(),
            contact_number: "9123 4567".into(),
            organisation: "Vendor Pte Ltd".into(),
            department: "".into(),
            seed_required: "no".into(),
            reason: "Builds the agency's app".into(),
        }
    }

    fn officer_account() -> RawAccount {
        RawAccount {
            email: "jane_tan@tech.gov.sg".into(),
            username: "".into(),
            department: "Data Science".into(),
            ..vendor_account()
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn email_invite_parses_an_officer() {
        let invite = EmailInvite::parse(&officer_invite()).expect("valid");
        assert_eq!(invite.email.as_str(), "Jane_Tan@tech.gov.sg");
        assert!(invite.seed_required);
        assert_eq!(invite.reason.as_str(), "Joining the data team");
    }

    #[test]
    fn email_invite_refuses_vendors_and_points_to_create_account() {
        let raw = RawEmailInvite {
            email: "someone@vendor.com".into(),
            ..officer_invite()
        };
        let errors = EmailInvite::parse(&raw).expect_err("vendor");
        assert_eq!(fields(&errors), ["email"]);
        assert!(errors[0].message.contains("public officers"));
        assert!(errors[0].message.contains("gov.sg"));
        assert!(errors[0].message.contains("Create account"));
        assert_eq!(
            check_email_invite_field(&raw, "email"),
            Some(errors[0].message.clone())
        );
    }

    #[test]
    fn email_invite_collects_every_field_error() {
        let errors = EmailInvite::parse(&RawEmailInvite::default()).expect_err("empty");
        assert_eq!(fields(&errors), RawEmailInvite::FIELDS);
        assert_eq!(errors[0].message, "Enter an email address");
        assert_eq!(
            errors[1].message,
            "Select whether onboarding to SEED is required"
        );
        assert_eq!(errors[2].message, "Enter a reason");
    }

    #[test]
    fn email_invite_field_checks_match_parse() {
        let raw = RawEmailInvite::default();
        for field in RawEmailInvite::FIELDS {
            assert!(check_email_invite_field(&raw, field).is_some(), "{field}");
            assert_eq!(check_email_invite_field(&officer_invite(), field), None);
        }
        assert_eq!(check_email_invite_field(&raw, "no_such_field"), None);
    }

    #[test]
    fn vendor_account_needs_a_username() {
        let account = NewAccount::parse(&vendor_account()).expect("valid");
        assert_eq!(account.kind, UserKind::Vendor);
        assert_eq!(
            account.username.as_ref().map(TechPassUsername::as_str),
            Some("li.wei")
        );
        assert_eq!(account.contact_number.as_e164(), "+6591234567");
        assert_eq!(account.department, None);
        assert!(!account.seed_required);

        let raw = RawAccount {
            username: " ".into(),
            ..vendor_account()
        };
        let errors = NewAccount::parse(&raw).expect_err("no username");
        assert_eq!(fields(&errors), ["username"]);
        assert_eq!(
            errors[0].message,
            "Enter a TechPass username: it is required for vendors"
        );
    }

    #[test]
    fn officer_account_must_leave_username_empty() {
        let account = NewAccount::parse(&officer_account()).expect("valid");
        assert_eq!(account.kind, UserKind::PublicOfficer);
        assert_eq!(account.username, None);
        assert_eq!(
            account.department.as_ref().map(Department::as_str),
            Some("Data Science")
        );

        let raw = RawAccount {
            username: "jane".into(),
            ..officer_account()
        };
        let errors = NewAccount::parse(&raw).expect_err("username given");
        assert_eq!(fields(&errors), ["username"]);
        assert!(errors[0]
            .message
            .starts_with("Leave TechPass username empty"));
    }

    #[test]
    fn account_collects_every_field_error_in_form_order() {
        let errors = NewAccount::parse(&RawAccount::default()).expect_err("empty");
        // Department is optional; the username's requirement is unknown without an email.
        assert_eq!(
            fields(&errors),
            [
                "email",
                "first_name",
                "last_name",
                "contact_number",
                "organisation",
                "seed_required",
                "reason"
            ]
        );
        assert_eq!(errors[1].message, "Enter a first name");
        assert_eq!(errors[2].message, "Enter a last name");
        assert_eq!(errors[3].message, "Enter a contact number");

        let raw = RawAccount {
            email: "not an email".into(),
            username: "x".into(),
            first_name: "J4ne".into(),
            last_name: "T@n".into(),
            contact_number: "1234".into(),
            organisation: "o".repeat(201),
            department: "d".repeat(201),
            seed_required: "perhaps".into(),
            reason: "r".repeat(501),
        };
        let errors = NewAccount::parse(&raw).expect_err("all bad");
        assert_eq!(fields(&errors), RawAccount::FIELDS);
        for e in &errors {
            assert_eq!(check_account_field(&raw, &e.field), Some(e.message.clone()));
        }
    }

    #[test]
    fn account_field_checks() {
        let raw = vendor_account();
        for field in RawAccount::FIELDS {
            assert_eq!(check_account_field(&raw, field), None, "{field}");
        }
        assert_eq!(check_account_field(&raw, "no_such_field"), None);
        let raw = RawAccount {
            contact_number: "9123 4567 ext 2".into(),
            ..raw
        };
        assert!(check_account_field(&raw, "contact_number")
            .expect("error")
            .contains("letters"));
        // The username check follows the email address.
        let raw = RawAccount {
            email: "jane@gov.sg".into(),
            ..raw
        };
        assert!(check_account_field(&raw, "username").is_some());
    }

    #[test]
    fn parsed_values_survive_a_round_trip_through_json() {
        let account = NewAccount::parse(&vendor_account()).expect("valid");
        let json = serde_json::to_string(&account).expect("serialise");
        let back: NewAccount = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, account);
        let raw: RawAccount =
            serde_json::from_str(&serde_json::to_string(&vendor_account()).expect("ser"))
                .expect("de");
        assert_eq!(raw, vendor_account());
    }

    /// Mostly well-formed fields (so whole accounts often parse), sometimes anything at all.
    // Text just inside or just outside what each byte scan passes: few characters, each
    // one that matters (separators, spaces, a digit, a letter beyond ASCII), and lengths
    // around the limits.
    const EMAIL_NEAR: &str = "[ .]?[a-z0-9]{0,3}([._+(@é-]{1,2}[a-z0-9]{0,3}){0,2}@[.-]?([a-zA-Z0-9]{0,3}[.@é-]{0,2}){1,3}[a-z0-9]{0,2}(\\.gov\\.sg|\\.GOV\\.SG|gov\\.sg|\\.com)?[.-]?[ ]?|[a-z]{62,66}@gov\\.sg|a@[a-z]{61,65}\\.sg|[a-z]{60}@[a-z]{60}\\.[a-z]{60}\\.[a-z]{60}\\.sg|[a.]{1,4}@(gov\\.sg|a\\.com)";
    const USERNAME_NEAR: &str =
        "[ ._0-]?[a-zA-Z0-9]{0,4}([._ é-]{1,2}[a-zA-Z0-9]{0,4}){0,2}[ ._-]?|[a-z]{28,32}|[a-z]{1,4}";
    const NAME_NEAR: &str = "[ ]?[A-Za-z]{0,4}([ .'0é\t\u{a0}\u{200b}\u{200d}\u{301}’小١ี-]{1,2}[A-Za-z]{0,4}){0,2}[ ]?|[a-z]{98,102}|[é]{99,101}|[ .'-]{1,3}|[Ab ]{1,6}|[\u{301}\u{200d}-]{1,3}";
    const CONTACT_NEAR: &str =
        "[+ ]?[0-9 ()+-]{0,18}|[+]?[03689 (+-]{6,12}|[+]?(65)?[0-9]{6,17}|'[0-9]{8}|[0-9a]{8}";
    const LINE_NEAR: &str = "[ ]?[A-Za-z]{0,4}([ .\t\n~é\u{a0}\u{200b}\u{3000}’\u{7f}\u{85}]{1,2}[A-Za-z]{0,4}){0,2}[ ]?|[a-z]{198,202}|[é]{199,201}|[a ]{0,6}|[Ab \t]{1,6}|[\u{80}\u{200b}\u{feff} ]{1,3}";
    const REASON_NEAR: &str = "[ \n]?[A-Za-z]{0,4}([ .\t\n\r~é\u{a0}\u{200b}\u{3000}’\u{7f}\u{85}]{1,2}[A-Za-z]{0,4}){0,2}[ \n\u{a0}]?|[a-z]{498,502}|[é ]{499,502}|[ \n\t]{0,3}|[\u{80}\u{200b}\u{feff} ]{1,3}";

    /// The nine fields, in the form's order, as a row.
    type Fields = (
        (String, String, String, String, String),
        (String, String, String, String),
    );

    fn account_of(fields: Fields) -> RawAccount {
        // (The fields in the order of RawAccount::FIELDS.)
        let ((a, b, c, d, e), (f, g, h, i)) = fields;
        RawAccount::from_values([a, b, c, d, e, f, g, h, i])
    }

    /// A field's byte scan and its rule.
    type ScanAndRule<'a> = (&'a str, fn(&str) -> bool, fn(&str) -> Result<(), String>);

    /// Rows as files hold them, mostly ASCII, each field often just inside or just outside
    /// what its byte scan passes.
    fn plain_account() -> impl Strategy<Value = RawAccount> {
        fn field(good: &'static str, near: &'static str) -> BoxedStrategy<String> {
            prop_oneof![
                8 => good,
                4 => near,
                1 => "\\PC{0,12}",
                1 => Just(String::new()),
            ]
            .boxed()
        }
        (
            (
                field(
                    "[a-z][a-z0-9._+-]{0,10}[a-z0-9]@([a-z][a-z0-9-]{0,6}[a-z0-9]\\.){1,2}(gov\\.sg|GOV\\.Sg|com|com\\.sg)",
                    EMAIL_NEAR,
                ),
                field(
                    "[a-zA-Z][a-zA-Z0-9]{1,6}([._-][a-z0-9]{1,6}){0,2}",
                    USERNAME_NEAR,
                ),
                field(
                    "[A-Z][a-z]{0,8}( [A-Z][a-z'.-]{0,8}){0,2}",
                    NAME_NEAR,
                ),
                field(
                    "(bin |O')?[A-Z][a-z]{1,8}",
                    "[A-Za-z .'-]{0,6}|[ .-]{1,3}",
                ),
                field(
                    "(\\+65 ?)?[3689][0-9]{3}[ -]?[0-9]{4}|\\+[1-9][0-9]{7,13}",
                    CONTACT_NEAR,
                ),
            ),
            (
                field(
                    "[A-Z][A-Za-z&().,]{1,10}( [A-Za-z&().,]{1,10}){0,3}",
                    LINE_NEAR,
                ),
                field(
                    "|[A-Z][a-z]{1,10}( [A-Za-z,]{1,10}){0,2}",
                    "[ ]{1,2}|[ -~]{0,10}|[a-z]{199,201}",
                ),
                field("Yes|No|yes|no", " ?(Y|n|TRUE|false|maybe) ?"),
                field(
                    "[A-Z][ -~]{0,60}\\.",
                    "[ \n]?[ -~\n\r\t]{0,12}[ \n]?|[a-z ]{498,502}",
                ),
            ),
        )
            .prop_map(account_of)
    }

    /// Rows as the bench files and the template's example hold them take the byte scans'
    /// way, not the rules' (what makes checking a 100,000-row file fast).
    #[test]
    fn ordinary_rows_pass_the_byte_scans() {
        let officer = RawAccount {
            email: "Huimin_lim_0@mom.gov.sg".into(),
            username: "".into(),
            first_name: "Hui Min".into(),
            last_name: "bin Abdullah".into(),
            contact_number: "+65 8439 1272".into(),
            organisation: "Ministry of Manpower".into(),
            department: "Policy, Planning and Research".into(),
            seed_required: "No".into(),
            reason: "Developer on the \"Parking.sg\" revamp, as approved by the director.".into(),
        };
        let vendor = RawAccount {
            email: "marcus.abdullah.1@tanandsons.com.sg".into(),
            username: "marcus.abdullah-1".into(),
            first_name: "Marcus".into(),
            last_name: "O'Brien".into(),
            contact_number: "9790 8068".into(),
            organisation: "Tan & Sons \"Digital\" Pte Ltd".into(),
            department: "".into(),
            seed_required: "Yes".into(),
            reason: "Joining the team building the HealthHub portal.".into(),
        };
        for raw in [officer, vendor_account(), officer_account(), vendor] {
            assert!(plainly_valid(&raw), "{raw:?}");
            assert_eq!(NewAccount::problems_by_rule(&raw), vec![], "{raw:?}");
        }
        // A row the rules accept but the scans leave to them: spaces to trim.
        let padded = RawAccount {
            first_name: " Li ".into(),
            ..vendor_account()
        };
        assert!(!plainly_valid(&padded));
        assert_eq!(NewAccount::problems(&padded), vec![]);
    }

    fn raw_account() -> impl Strategy<Value = RawAccount> {
        fn field(good: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
            prop_oneof![
                12 => good,
                1 => "\\PC{0,40}",
                1 => Just(String::new()),
            ]
            .boxed()
        }
        (
            (
                field("[ ]?[A-Za-z]{1,8}@([a-zA-Z]{1,5}\\.)?(gov\\.sg|GOV\\.SG|example\\.com)\\.?[ ]?"),
                field("|[A-Za-z][a-z0-9._-]{1,12}[a-z0-9]"),
                field("[A-Za-z][a-z' .-]{0,12}"),
                field("\\pL{1,3}( \\pL{1,3})?"),
                field("(\\+65 ?)?[3689][0-9]{3}[ -]?[0-9]{4}|\\+[1-9][0-9]{7,12}"),
            ),
            (
                field("\\PC{1,30}"),
                field("\\PC{0,30}"),
                field("yes|no|Y|N|TRUE|false"),
                field("\\PC{1,60}"),
            ),
        )
            .prop_map(account_of)
    }

    /// The raw form of a parsed account, as a form would show it again.
    fn unparse(a: &NewAccount) -> RawAccount {
        RawAccount {
            email: a.email.to_string(),
            username: a
                .username
                .as_ref()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
            first_name: a.first_name.to_string(),
            last_name: a.last_name.to_string(),
            contact_number: a.contact_number.display(),
            organisation: a.organisation.to_string(),
            department: a
                .department
                .as_ref()
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
            seed_required: SeedRequired(a.seed_required).as_str().to_string(),
            reason: a.reason.to_string(),
        }
    }

    proptest! {
        // Each case takes microseconds, and a scan that passes one character too many is
        // found only by the few strings that have it in the right place.
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Each field's scan alone, on text near its edges: what it passes, its rule accepts
        /// (the address with the same kind).
        #[test]
        fn an_address_the_scan_passes_the_rule_accepts(email in EMAIL_NEAR) {
            if let Some(kind) = Email::plain_kind(&email) {
                prop_assert_eq!(Email::check(&email), Ok(kind));
            }
        }

        #[test]
        fn a_field_the_scan_passes_the_rule_accepts(
            name in NAME_NEAR,
            number in CONTACT_NEAR,
            line in LINE_NEAR,
            reason in REASON_NEAR,
            username in USERNAME_NEAR,
        ) {
            let checks: [ScanAndRule; 6] = [
                (&name, PersonName::plainly_valid, PersonName::check_first),
                (&number, ContactNumber::plainly_valid, ContactNumber::check),
                (&line, Organisation::plainly_valid, Organisation::check),
                (&line, Department::plainly_valid, Department::check_optional),
                (&reason, Reason::plainly_valid, Reason::check),
                (&username, TechPassUsername::plainly_valid, TechPassUsername::check),
            ];
            for (text, scan, rule) in checks {
                if scan(text) {
                    prop_assert_eq!(rule(text), Ok(()), "{:?}", text);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn account_parse_never_panics_agrees_with_field_checks_and_is_idempotent(
            raw in raw_account()
        ) {
            match NewAccount::parse(&raw) {
                Ok(account) => {
                    prop_assert_eq!(account.kind, account.email.kind());
                    prop_assert_eq!(account.username.is_some(), account.kind == UserKind::Vendor);
                    for field in RawAccount::FIELDS {
                        prop_assert_eq!(check_account_field(&raw, field), None);
                    }
                    prop_assert_eq!(NewAccount::parse(&unparse(&account)), Ok(account));
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in &errors {
                        prop_assert_eq!(check_account_field(&raw, &e.field), Some(e.message.clone()));
                    }
                }
            }
        }

        /// The batch's check (no value kept) against the parse it stands in for: the same
        /// messages in the same order, and the same kind of user.
        #[test]
        fn problems_are_the_parse_s_errors(raw in raw_account()) {
            let parsed = NewAccount::parse(&raw);
            prop_assert_eq!(
                NewAccount::problems(&raw),
                parsed.as_ref().err().cloned().unwrap_or_default()
            );
            prop_assert_eq!(
                Email::check(&raw.email).ok(),
                Email::parse(&raw.email).ok().map(|e| e.kind())
            );
        }

        /// The byte scans against the rules, on rows of mostly ASCII text near the scans'
        /// edges (spaces, dots, separators, lengths, cases, other scripts): the same problems
        /// in the same order.
        #[test]
        fn the_byte_scans_agree_with_the_rules(raw in plain_account()) {
            prop_assert_eq!(NewAccount::problems(&raw), NewAccount::problems_by_rule(&raw));
        }

        #[test]
        fn email_invite_parse_never_panics(
            email in "\\PC{0,40}|[a-z]{1,8}@([a-z]{1,5}\\.)?(gov\\.sg|example\\.com)",
            seed_required in "\\PC{0,6}|yes|no",
            reason in "\\PC{0,40}",
        ) {
            let raw = RawEmailInvite { email, seed_required, reason };
            match EmailInvite::parse(&raw) {
                Ok(invite) => prop_assert!(invite.email.is_public_officer()),
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in &errors {
                        prop_assert_eq!(
                            check_email_invite_field(&raw, &e.field),
                            Some(e.message.clone())
                        );
                    }
                }
            }
        }
    }
}
