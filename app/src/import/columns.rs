//! The columns of a batch upload file: the Create account fields, their header in the
//! template (the user guide's own labels), and the other names people give them.

/// One column of the batch upload template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The `RawAccount` field this column fills (also the form field's name).
    pub field: &'static str,
    /// The header written in the template: the label of the Create account form.
    pub header: &'static str,
    /// Whether a file without this column is refused.
    pub required: bool,
    /// Other headers accepted for this column, compared after normalising
    /// (lower case, letters and digits only).
    pub aliases: &'static [&'static str],
}

/// The template's sheet that explains the columns: never read for users.
pub const INSTRUCTIONS_SHEET: &str = "Instructions";

/// The template's columns, in order.
pub const COLUMNS: [Column; 9] = [
    Column {
        field: "email",
        header: "Email address",
        required: true,
        aliases: &[
            "email",
            "e-mail",
            "email address",
            "e-mail address",
            "mail",
            "work email",
            "organisation email",
            "organization email",
            "official email",
        ],
    },
    Column {
        field: "username",
        header: "TechPass username",
        required: false,
        aliases: &[
            "username",
            "user name",
            "techpass username",
            "techpass id",
            "login",
        ],
    },
    Column {
        field: "first_name",
        header: "First name",
        required: true,
        aliases: &["first name", "firstname", "given name", "forename"],
    },
    Column {
        field: "last_name",
        header: "Last name",
        required: true,
        aliases: &["last name", "lastname", "surname", "family name"],
    },
    Column {
        field: "contact_number",
        header: "Contact number",
        required: true,
        aliases: &[
            "contact number",
            "contact no",
            "contact",
            "phone",
            "phone number",
            "mobile",
            "mobile number",
            "mobile no",
            "telephone",
            "tel",
            "hp",
            "handphone",
        ],
    },
    Column {
        field: "organisation",
        header: "Organisation",
        required: true,
        aliases: &[
            "organisation",
            "organization",
            "company",
            "agency",
            "employer",
            "org",
        ],
    },
    Column {
        field: "department",
        header: "Department",
        required: false,
        aliases: &["department", "dept", "division", "team", "unit"],
    },
    Column {
        field: "seed_required",
        header: "Is onboarding to SEED required?",
        required: true,
        aliases: &[
            "is onboarding to seed required",
            "seed",
            "seed required",
            "onboarding to seed",
            "seed onboarding",
            "onboard to seed",
        ],
    },
    Column {
        field: "reason",
        header: "Reason",
        required: true,
        aliases: &["reason", "justification", "purpose", "reason for account"],
    },
];
