//! Branded mail: the templates, their rendering with minijinja, the white labels' own versions
//! of them, and queueing a rendered mail in the outbox.
//!
//! Every template has a subject, an HTML part and a text part. The platform's defaults live in
//! `crates/app/mail-templates/` and extend `layout.html` / `layout.txt`, which draw the white
//! label's logo, colour and support details; a white label's own version may extend them too.
//! Rendering is strict: a variable the template names but the mail does not carry is an
//! error, and the HTML part is autoescaped.
//!
//! Mail is rendered when it is queued ([`App::enqueue_mail`]), inside the caller's transaction,
//! so the outbox row commits or rolls back with the change that caused it.

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde_json::json;
use tandem_domain::{Colour, CustomerId, EmailAddress, Name, OptionalText, Permission};
use tandem_store::email_templates::{self as store_templates, TemplateParts};
use tandem_store::outbox::{self as store_outbox, NewOutboxItem, KIND_MAIL};
use tandem_store::white_labels::{self as store_wl, WhiteLabelRow};
use tandem_store::Conn;

use crate::access::WhiteLabelAdmin;
use crate::audit::{record, Change};
use crate::outbox::new_outbox_id;
use crate::validate::Fields;
use crate::{App, AppError, AppResult, FieldError};

/// The largest subject template accepted, in characters.
pub const MAX_SUBJECT_CHARS: usize = 500;
/// The largest HTML or text template accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 200 * 1024;

/// How many template instructions one render may run before it is stopped, so that a white
/// label's template cannot loop for ever. The default templates use a few hundred.
const FUEL: u64 = 200_000;

/// The colour used when a stored brand colour does not parse.
const FALLBACK_COLOUR: &str = "#1f4e79";

const LAYOUT_HTML: &str = include_str!("../mail-templates/layout.html");
const LAYOUT_TEXT: &str = include_str!("../mail-templates/layout.txt");

/// A mail Tandem sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailTemplate {
    /// The link a self-activating customer follows to activate their account.
    Activation,
    /// The receipt of a card payment.
    PaymentReceipt,
    /// The warning that a prepaid balance fell below its alert level.
    LowBalance,
    /// An invitation to join an account.
    Invitation,
    /// A link to choose a new password.
    PasswordReset,
}

/// The three parts of a template as source text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateSource {
    pub subject: String,
    pub body_html: String,
    pub body_text: String,
}

impl TemplateSource {
    fn parts(&self) -> TemplateParts<'_> {
        TemplateParts {
            subject: &self.subject,
            body_html: &self.body_html,
            body_text: &self.body_text,
        }
    }
}

impl MailTemplate {
    /// Every template, in the order the portal lists them.
    pub const ALL: [MailTemplate; 5] = [
        MailTemplate::Activation,
        MailTemplate::PaymentReceipt,
        MailTemplate::LowBalance,
        MailTemplate::Invitation,
        MailTemplate::PasswordReset,
    ];

    /// The stable name, as stored in the outbox and in the white label's templates.
    pub fn as_str(self) -> &'static str {
        match self {
            MailTemplate::Activation => "activation",
            MailTemplate::PaymentReceipt => "payment_receipt",
            MailTemplate::LowBalance => "low_balance",
            MailTemplate::Invitation => "invitation",
            MailTemplate::PasswordReset => "password_reset",
        }
    }

    /// Finds a template by its stable name.
    pub fn parse(name: &str) -> Option<MailTemplate> {
        Self::ALL.into_iter().find(|t| t.as_str() == name.trim())
    }

    /// The name people see.
    pub fn label(self) -> &'static str {
        match self {
            MailTemplate::Activation => "Account activation",
            MailTemplate::PaymentReceipt => "Payment receipt",
            MailTemplate::LowBalance => "Low balance warning",
            MailTemplate::Invitation => "Invitation",
            MailTemplate::PasswordReset => "Password reset",
        }
    }

    /// When the mail is sent.
    pub fn description(self) -> &'static str {
        match self {
            MailTemplate::Activation => {
                "Sent to a self-activating customer with the link to activate their account."
            }
            MailTemplate::PaymentReceipt => "Sent to a customer when a card payment succeeds.",
            MailTemplate::LowBalance => {
                "Sent when a customer's prepaid balance falls below its alert level."
            }
            MailTemplate::Invitation => "Sent to a person invited to join an account.",
            MailTemplate::PasswordReset => "Sent to a person who asked to reset their password.",
        }
    }

    /// The variables of this template with what each holds, besides `brand`.
    pub fn variables(self) -> &'static [(&'static str, &'static str)] {
        match self {
            MailTemplate::Activation => &[
                ("contact_name", "the given name of the customer's contact"),
                ("legal_name", "the customer's legal business name"),
                ("plan_name", "the name of the customer's plan"),
                ("activation_url", "the activation link"),
                (
                    "expires_at",
                    "when the link stops working, in the customer's time zone",
                ),
            ],
            MailTemplate::PaymentReceipt => &[
                ("contact_name", "the given name of the customer's contact"),
                ("legal_name", "the customer's legal business name"),
                ("amount", "the amount paid, with its currency"),
                ("description", "what the payment was for"),
                ("balance", "the balance after the payment"),
                ("paid_at", "when the payment was made"),
                ("account_number", "the customer's account number"),
            ],
            MailTemplate::LowBalance => &[
                ("legal_name", "the customer's legal business name"),
                ("balance", "the current balance"),
                ("threshold", "the alert level the balance fell below"),
                ("top_up_url", "the link to the top-up page"),
            ],
            MailTemplate::Invitation => &[
                (
                    "inviter_name",
                    "the name of the person who sent the invitation",
                ),
                ("account_name", "the account the invitation is for"),
                ("role", "the role the invited person gets"),
                ("invitation_url", "the link that accepts the invitation"),
                ("expires_at", "when the invitation stops working"),
            ],
            MailTemplate::PasswordReset => &[
                ("name", "the name of the person"),
                ("reset_url", "the link to choose a new password"),
                ("expires_at", "when the link stops working"),
            ],
        }
    }

    /// Values of every variable (besides `brand`), for previews and for checking templates.
    pub fn sample_values(self) -> serde_json::Value {
        match self {
            MailTemplate::Activation => json!({
                "contact_name": "Aroha",
                "legal_name": "Kauri Plumbing Limited",
                "plan_name": "Business",
                "activation_url": "https://portal.example.com/activate/sample-token",
                "expires_at": "Friday 11 December 2026, 9:30 am",
            }),
            MailTemplate::PaymentReceipt => json!({
                "contact_name": "Aroha",
                "legal_name": "Kauri Plumbing Limited",
                "amount": "$88.00",
                "description": "Card payment to your account",
                "balance": "$120.50",
                "paid_at": "Friday 4 December 2026, 2:15 pm",
                "account_number": "100234567",
            }),
            MailTemplate::LowBalance => json!({
                "legal_name": "Kauri Plumbing Limited",
                "balance": "$4.20",
                "threshold": "$10.00",
                "top_up_url": "https://portal.example.com/top-up",
            }),
            MailTemplate::Invitation => json!({
                "inviter_name": "Aroha Ngata",
                "account_name": "Kauri Plumbing Limited",
                "role": "Account Administrator",
                "invitation_url": "https://portal.example.com/invitations/sample-token",
                "expires_at": "Friday 11 December 2026, 9:30 am",
            }),
            MailTemplate::PasswordReset => json!({
                "name": "Aroha Ngata",
                "reset_url": "https://portal.example.com/reset-password/sample-token",
                "expires_at": "Friday 4 December 2026, 3:15 pm",
            }),
        }
    }

    /// The platform's default version of this template.
    pub fn default_source(self) -> TemplateSource {
        let (subject, body_html, body_text) = match self {
            MailTemplate::Activation => (
                include_str!("../mail-templates/activation.subject"),
                include_str!("../mail-templates/activation.html"),
                include_str!("../mail-templates/activation.txt"),
            ),
            MailTemplate::PaymentReceipt => (
                include_str!("../mail-templates/payment_receipt.subject"),
                include_str!("../mail-templates/payment_receipt.html"),
                include_str!("../mail-templates/payment_receipt.txt"),
            ),
            MailTemplate::LowBalance => (
                include_str!("../mail-templates/low_balance.subject"),
                include_str!("../mail-templates/low_balance.html"),
                include_str!("../mail-templates/low_balance.txt"),
            ),
            MailTemplate::Invitation => (
                include_str!("../mail-templates/invitation.subject"),
                include_str!("../mail-templates/invitation.html"),
                include_str!("../mail-templates/invitation.txt"),
            ),
            MailTemplate::PasswordReset => (
                include_str!("../mail-templates/password_reset.subject"),
                include_str!("../mail-templates/password_reset.html"),
                include_str!("../mail-templates/password_reset.txt"),
            ),
        };
        TemplateSource {
            subject: subject.trim_end().to_string(),
            body_html: body_html.to_string(),
            body_text: body_text.to_string(),
        }
    }
}

impl std::fmt::Display for MailTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The white label's brand as templates see it, in the variable `brand`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Brand {
    pub name: String,
    /// The absolute URL of the logo, or `None` when the white label has none.
    pub logo_url: Option<String>,
    /// The primary colour, such as `#0b6e4f`.
    pub colour: String,
    /// Black or white, whichever reads better on `colour` (for button text).
    pub text_colour: String,
    /// The primary colour, darkened where needed to reach 4.5:1 contrast on white (for links).
    pub link_colour: String,
    pub support_email: String,
    pub support_phone: Option<String>,
    /// The base URL of the white label's portal, such as `https://portal.example.com`.
    pub portal_url: String,
}

impl Brand {
    /// Builds the brand of `white_label`, whose portal is at `portal_url`.
    pub fn of(white_label: &WhiteLabelRow, portal_url: &str) -> Brand {
        let portal_url = portal_url.trim_end_matches('/').to_string();
        let colour = Colour::parse(&white_label.primary_colour)
            .unwrap_or_else(|_| Colour::parse(FALLBACK_COLOUR).expect("valid colour"));
        Brand {
            name: white_label.name.clone(),
            logo_url: white_label.has_logo.then(|| {
                format!(
                    "{portal_url}/brand/{}/logo?v={}",
                    white_label.id, white_label.logo_version
                )
            }),
            colour: colour.as_str().to_string(),
            text_colour: colour.text_colour().as_str().to_string(),
            link_colour: colour.accessible_on_white().as_str().to_string(),
            support_email: white_label.support_email.clone(),
            support_phone: white_label.support_phone.clone(),
            portal_url,
        }
    }
}

/// A rendered mail: subject (one line), HTML part and text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The form field of each template part, as named in errors.
const SUBJECT: &str = "subject";
const BODY_HTML: &str = "body_html";
const BODY_TEXT: &str = "body_text";

/// Template names inside the rendering environment; the `.html` suffix turns on autoescape.
fn template_name(field: &str) -> &'static str {
    match field {
        SUBJECT => "subject.txt",
        BODY_HTML => "body.html",
        _ => "body.txt",
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env.add_template("layout.html", LAYOUT_HTML)
        .expect("the HTML layout parses");
    env.add_template("layout.txt", LAYOUT_TEXT)
        .expect("the text layout parses");
    env
}

/// Describes a template error for the person editing it: where and what.
fn describe(error: &minijinja::Error, part_name: &str) -> String {
    let mut message = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    if let Some(line) = error.line() {
        message = match error.name() {
            Some(name) if name != part_name => format!("line {line} of {name}: {message}"),
            _ => format!("line {line}: {message}"),
        };
    }
    message
}

fn template_error(field: &str, error: &minijinja::Error) -> FieldError {
    FieldError::custom(
        field,
        "invalid_template",
        describe(error, template_name(field)),
    )
}

fn check_sizes(source: &TemplateSource) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let subject_chars = source.subject.chars().count();
    if source.subject.trim().is_empty() {
        errors.push(FieldError::custom(
            SUBJECT,
            "required",
            "give a subject line",
        ));
    } else if subject_chars > MAX_SUBJECT_CHARS {
        errors.push(FieldError::custom(
            SUBJECT,
            "too_long",
            format!("the subject is {subject_chars} characters: the limit is {MAX_SUBJECT_CHARS}"),
        ));
    }
    for (field, body) in [
        (BODY_HTML, &source.body_html),
        (BODY_TEXT, &source.body_text),
    ] {
        if body.trim().is_empty() {
            errors.push(FieldError::custom(
                field,
                "required",
                "this part cannot be empty",
            ));
        } else if body.len() > MAX_BODY_BYTES {
            errors.push(FieldError::custom(
                field,
                "too_long",
                format!(
                    "this part is {} KiB: the limit is {} KiB",
                    body.len() / 1024,
                    MAX_BODY_BYTES / 1024
                ),
            ));
        }
    }
    errors
}

/// Renders the three parts of `source` for `brand` with `vars` (a JSON object; its `brand` key,
/// if any, is replaced). Every failing part gives one error, named `subject`, `body_html` or
/// `body_text`, with the line and the problem.
pub fn render_source(
    source: &TemplateSource,
    brand: &Brand,
    vars: &serde_json::Value,
) -> Result<RenderedMail, Vec<FieldError>> {
    let mut context = match vars {
        serde_json::Value::Object(map) => map.clone(),
        serde_json::Value::Null => serde_json::Map::new(),
        other => {
            return Err(vec![FieldError::custom(
                "vars",
                "invalid_vars",
                format!("mail variables must be a JSON object, not {other}"),
            )])
        }
    };
    context.insert(
        "brand".into(),
        serde_json::to_value(brand).expect("a brand serialises"),
    );
    let context = Value::from(minijinja::value::Serde(&context));

    let mut env = environment();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (field, text) in [
        (SUBJECT, source.subject.as_str()),
        (BODY_HTML, source.body_html.as_str()),
        (BODY_TEXT, source.body_text.as_str()),
    ] {
        match env.add_template(template_name(field), text) {
            Ok(()) => parsed.push(field),
            Err(error) => errors.push(template_error(field, &error)),
        }
    }

    // Parts that parsed are rendered even when another part did not, so that one save shows
    // the errors of every part.
    let mut render = |field: &str| -> Option<String> {
        if !parsed.contains(&field) {
            return None;
        }
        let result = env
            .get_template(template_name(field))
            .and_then(|template| template.render(context.clone()));
        match result {
            Ok(output) => Some(output),
            Err(error) => {
                errors.push(template_error(field, &error));
                None
            }
        }
    };
    let subject = render(SUBJECT);
    let html = render(BODY_HTML);
    let text = render(BODY_TEXT);
    match (subject, html, text) {
        (Some(subject), Some(html), Some(text)) => {
            // A subject is one header line, whatever new lines the template produced.
            let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
            if subject.is_empty() {
                return Err(vec![FieldError::custom(
                    SUBJECT,
                    "empty_subject",
                    "the subject comes out empty: give it some text",
                )]);
            }
            let mut text = text.trim_start_matches('\n').to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            Ok(RenderedMail {
                subject,
                html,
                text,
            })
        }
        _ => {
            errors.sort_by_key(|e| {
                [SUBJECT, BODY_HTML, BODY_TEXT]
                    .iter()
                    .position(|f| *f == e.field)
            });
            Err(errors)
        }
    }
}

/// Checks a template as a white label wrote it: size limits, syntax, and a render of every
/// part with the template's sample values, so that unknown variables and runtime errors are
/// found when the template is saved. Each error names the part (`subject`, `body_html` or
/// `body_text`) and gives the line and the problem.
pub fn validate_template(
    template: MailTemplate,
    subject: &str,
    html: &str,
    text: &str,
) -> Result<(), Vec<FieldError>> {
    let source = TemplateSource {
        subject: subject.to_string(),
        body_html: html.to_string(),
        body_text: text.to_string(),
    };
    let errors = check_sizes(&source);
    if !errors.is_empty() {
        return Err(errors);
    }
    render_source(&source, &sample_brand(), &template.sample_values()).map(|_| ())
}

/// Builds a brand with every field set, so that checks reach both sides of
/// `{% if brand.… %}` where they can.
fn sample_brand() -> Brand {
    Brand {
        name: "Sample Telecom".into(),
        logo_url: Some("https://portal.example.com/brand/sample/logo?v=1".into()),
        colour: FALLBACK_COLOUR.into(),
        text_colour: "#ffffff".into(),
        link_colour: FALLBACK_COLOUR.into(),
        support_email: "support@example.com".into(),
        support_phone: Some("+64 9 555 0100".into()),
        portal_url: "https://portal.example.com".into(),
    }
}

/// Sender and threading headers of a queued mail, stored as the outbox row's `headers_json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailHeaders {
    /// The display name of the sender.
    pub from_name: String,
    /// The sender's address; `None` means the platform's configured sender address, filled in
    /// by the outbox worker when it delivers.
    pub from_address: Option<String>,
    pub reply_to: Option<String>,
    /// Unique per mail, with the angle brackets; receivers use it to drop a duplicate.
    pub message_id: String,
}

/// Renders `template` for `white_label` and queues it to `to`, inside the caller's
/// transaction; returns the outbox id.
///
/// The white label's own version of the template is used when it has one. If that version
/// fails to render with `vars` (it was checked against sample values when saved, but a branch
/// may use something else), the failure is logged and the platform's default is sent instead.
/// A default that fails means `vars` lacks a variable, which is the caller's error.
///
/// From is the white label's sender name (else its name) and sender address (else the
/// platform's, filled in at delivery); Reply-To is its support address.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue_mail(
    conn: &mut Conn,
    now_us: i64,
    portal_url: &str,
    white_label: &WhiteLabelRow,
    customer_id: Option<&CustomerId>,
    template: MailTemplate,
    to: &EmailAddress,
    vars: serde_json::Value,
) -> AppResult<String> {
    let brand = Brand::of(white_label, portal_url);
    let own = store_templates::get(conn, &white_label.id, template.as_str()).await?;
    let rendered = match own {
        Some(row) => {
            let source = TemplateSource {
                subject: row.subject,
                body_html: row.body_html,
                body_text: row.body_text,
            };
            match render_source(&source, &brand, &vars) {
                Ok(rendered) => Some(rendered),
                Err(errors) => {
                    tracing::warn!(
                        white_label.id = %white_label.id,
                        template = template.as_str(),
                        errors = %summary(&errors),
                        "the white label's mail template failed to render; sending the default"
                    );
                    None
                }
            }
        }
        None => None,
    };
    let rendered = match rendered {
        Some(rendered) => rendered,
        None => render_source(&template.default_source(), &brand, &vars).map_err(|errors| {
            AppError::Internal(format!(
                "the default {template} mail failed to render: {}",
                summary(&errors)
            ))
        })?,
    };

    let id = new_outbox_id();
    let headers = MailHeaders {
        from_name: white_label
            .mail_from_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| white_label.name.clone()),
        from_address: white_label
            .mail_from_address
            .clone()
            .filter(|a| !a.trim().is_empty()),
        reply_to: Some(white_label.support_email.clone()),
        message_id: format!("<{id}@{}>", message_id_domain(white_label)),
    };
    let headers_json = serde_json::to_string(&headers).expect("headers serialise");
    store_outbox::insert(
        conn,
        &NewOutboxItem {
            id: &id,
            kind: KIND_MAIL,
            white_label_id: Some(&white_label.id),
            customer_id,
            topic: template.as_str(),
            recipient: to.as_str(),
            subject: Some(&rendered.subject),
            body_text: &rendered.text,
            body_html: Some(&rendered.html),
            headers_json: Some(&headers_json),
        },
        now_us,
    )
    .await?;
    tracing::debug!(outbox.id = %id, white_label.id = %white_label.id, template = %template, "mail queued");
    Ok(id)
}

/// Picks the domain of Message-IDs: the sender's, else the portal's host name.
fn message_id_domain(white_label: &WhiteLabelRow) -> String {
    let from_domain = white_label
        .mail_from_address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, domain)| domain.to_string());
    let portal_host = white_label
        .hosts
        .first()
        .map(|h| h.split(':').next().unwrap_or(h).to_string());
    from_domain
        .or(portal_host)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "tandem.invalid".to_string())
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A template as the portal lists it.
#[derive(Debug, Clone)]
pub struct TemplateSummary {
    pub template: MailTemplate,
    /// Whether the white label has its own version.
    pub customised: bool,
    /// When the white label's version was last saved.
    pub updated_us: Option<i64>,
}

/// A template as the edit page shows it: the white label's version, or the default.
#[derive(Debug, Clone)]
pub struct EditableTemplate {
    pub template: MailTemplate,
    pub source: TemplateSource,
    pub customised: bool,
}

impl App {
    /// Renders `template` for `white_label` and queues it to `to` inside the caller's
    /// transaction, with links to the white label's portal; returns the outbox id. See
    /// [`enqueue_mail`].
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue_mail(
        &self,
        conn: &mut Conn,
        now_us: i64,
        white_label: &WhiteLabelRow,
        customer_id: Option<&CustomerId>,
        template: MailTemplate,
        to: &EmailAddress,
        vars: serde_json::Value,
    ) -> AppResult<String> {
        let portal_url = self.portal_url(white_label);
        enqueue_mail(
            conn,
            now_us,
            &portal_url,
            white_label,
            customer_id,
            template,
            to,
            vars,
        )
        .await
    }

    /// Lists every mail template and whether the white label has its own version.
    pub async fn email_templates(
        &self,
        admin: &WhiteLabelAdmin,
    ) -> AppResult<Vec<TemplateSummary>> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let mut conn = self.store.conn().await?;
        let own = store_templates::list(&mut conn, admin.white_label_id()).await?;
        Ok(MailTemplate::ALL
            .into_iter()
            .map(|template| {
                let row = own.iter().find(|r| r.template == template.as_str());
                TemplateSummary {
                    template,
                    customised: row.is_some(),
                    updated_us: row.map(|r| r.updated_us),
                }
            })
            .collect())
    }

    /// Reads the white label's version of a template, or the default if it has none.
    pub async fn email_template(
        &self,
        admin: &WhiteLabelAdmin,
        template: MailTemplate,
    ) -> AppResult<EditableTemplate> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let mut conn = self.store.conn().await?;
        let own =
            store_templates::get(&mut conn, admin.white_label_id(), template.as_str()).await?;
        Ok(match own {
            Some(row) => EditableTemplate {
                template,
                source: TemplateSource {
                    subject: row.subject,
                    body_html: row.body_html,
                    body_text: row.body_text,
                },
                customised: true,
            },
            None => EditableTemplate {
                template,
                source: template.default_source(),
                customised: false,
            },
        })
    }

    /// Renders a template as written, with the white label's brand and the template's sample
    /// values, for the preview on the edit page.
    pub async fn preview_email_template(
        &self,
        admin: &WhiteLabelAdmin,
        template: MailTemplate,
        source: &TemplateSource,
    ) -> AppResult<RenderedMail> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let errors = check_sizes(source);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let white_label = self.white_label(admin).await?;
        let brand = Brand::of(&white_label, &self.portal_url(&white_label));
        render_source(source, &brand, &template.sample_values()).map_err(AppError::Invalid)
    }

    /// Saves the white label's version of a template after checking it with
    /// [`validate_template`]; a template that does not render is rejected with the errors.
    pub async fn save_email_template(
        &self,
        admin: &WhiteLabelAdmin,
        template: MailTemplate,
        source: &TemplateSource,
    ) -> AppResult<()> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        validate_template(
            template,
            &source.subject,
            &source.body_html,
            &source.body_text,
        )
        .map_err(AppError::Invalid)?;
        let now = self.now_us();
        let id = admin.white_label_id();
        let mut tx = self.store.begin().await?;
        let before = store_templates::get(&mut tx, id, template.as_str()).await?;
        let row =
            store_templates::upsert(&mut tx, id, template.as_str(), source.parts(), now).await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(id),
                on_behalf_of: admin.on_behalf_of(),
                action: "email_template.saved",
                object_kind: "email_template",
                object_id: template.as_str(),
                before: before.map(|b| template_json(&b.subject, &b.body_html, &b.body_text)),
                after: Some(template_json(&row.subject, &row.body_html, &row.body_text)),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the white label's version of a template, so the default applies again.
    /// Returns false when it had none.
    pub async fn reset_email_template(
        &self,
        admin: &WhiteLabelAdmin,
        template: MailTemplate,
    ) -> AppResult<bool> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let now = self.now_us();
        let id = admin.white_label_id();
        let mut tx = self.store.begin().await?;
        let Some(before) = store_templates::get(&mut tx, id, template.as_str()).await? else {
            return Ok(false);
        };
        store_templates::delete(&mut tx, id, template.as_str()).await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(id),
                on_behalf_of: admin.on_behalf_of(),
                action: "email_template.reset",
                object_kind: "email_template",
                object_id: template.as_str(),
                before: Some(template_json(
                    &before.subject,
                    &before.body_html,
                    &before.body_text,
                )),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets the sender of the white label's mail. A blank name means the white label's name; a
    /// blank address means the platform's sender address.
    pub async fn set_mail_sender(
        &self,
        admin: &WhiteLabelAdmin,
        name: &str,
        address: &str,
    ) -> AppResult<WhiteLabelRow> {
        admin.require(Permission::ManageWhiteLabelSettings)?;
        let mut fields = Fields::default();
        let name = fields.check("mail_from_name", OptionalText::parse(name, 80));
        let address = if address.trim().is_empty() {
            Some(None)
        } else {
            fields
                .check("mail_from_address", EmailAddress::parse(address))
                .map(Some)
        };
        fields.finish()?;
        let name: Option<Name> = name.expect("checked");
        let name = name.as_ref().map(|n| n.as_str().to_string());
        let address = address.expect("checked").map(|a| a.as_str().to_string());

        let now = self.now_us();
        let id = admin.white_label_id();
        let mut tx = self.store.begin().await?;
        let before = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        store_wl::set_mail_sender(&mut tx, id, name.as_deref(), address.as_deref(), now).await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(id),
                on_behalf_of: admin.on_behalf_of(),
                action: "mail_sender.changed",
                object_kind: "white_label",
                object_id: id.as_str(),
                before: Some(json!({
                    "mail_from_name": before.mail_from_name,
                    "mail_from_address": before.mail_from_address,
                })),
                after: Some(json!({"mail_from_name": name, "mail_from_address": address})),
                ..Change::default()
            },
        )
        .await?;
        let row = store_wl::get(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        tx.commit().await?;
        self.creation_contexts.forget_white_label(id);
        Ok(row)
    }
}

fn template_json(subject: &str, html: &str, text: &str) -> serde_json::Value {
    json!({"subject": subject, "body_html": html, "body_text": text})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand(logo: bool) -> Brand {
        Brand {
            name: "Harbour Telecom".into(),
            logo_url: logo.then(|| "https://portal.harbour.example/brand/wl_1/logo?v=2".into()),
            colour: "#0b6e4f".into(),
            text_colour: "#ffffff".into(),
            link_colour: "#0b6e4f".into(),
            support_email: "help@harbour.example".into(),
            support_phone: Some("+64 9 555 0199".into()),
            portal_url: "https://portal.harbour.example".into(),
        }
    }

    #[test]
    fn parse_round_trips_every_template() {
        for template in MailTemplate::ALL {
            assert_eq!(MailTemplate::parse(template.as_str()), Some(template));
        }
        assert_eq!(MailTemplate::parse("welcome"), None);
    }

    #[test]
    fn defaults_render_with_sample_values() {
        for template in MailTemplate::ALL {
            let source = template.default_source();
            let result = validate_template(
                template,
                &source.subject,
                &source.body_html,
                &source.body_text,
            );
            assert_eq!(result, Ok(()), "{template}");
        }
    }

    #[test]
    fn defaults_use_every_declared_variable() {
        for template in MailTemplate::ALL {
            let source = template.default_source();
            for (name, _) in template.variables() {
                let used = source.body_html.contains(name) && source.body_text.contains(name);
                assert!(used, "{template} does not use {name} in both parts");
            }
        }
    }

    #[test]
    fn sample_values_cover_declared_variables() {
        for template in MailTemplate::ALL {
            let values = template.sample_values();
            for (name, _) in template.variables() {
                assert!(
                    values.get(name).is_some(),
                    "{template} lacks a sample {name}"
                );
            }
        }
    }

    #[test]
    fn render_carries_brand_in_both_parts() {
        let template = MailTemplate::Activation;
        let mail = render_source(
            &template.default_source(),
            &brand(true),
            &template.sample_values(),
        )
        .unwrap();

        assert_eq!(mail.subject, "Activate your Harbour Telecom account");
        for part in [&mail.html, &mail.text] {
            assert!(part.contains("Harbour Telecom"));
            assert!(part.contains("help@harbour.example"));
            assert!(part.contains("+64 9 555 0199"));
        }
        assert!(mail.html.contains("background-color:#0b6e4f"));
        assert!(mail.html.contains(
            "https:&#x2f;&#x2f;portal.harbour.example&#x2f;brand&#x2f;wl_1&#x2f;logo?v=2"
        ));
        assert!(!mail.html.to_lowercase().contains("tandem"));
        assert!(!mail.text.to_lowercase().contains("tandem"));
    }

    #[test]
    fn render_without_logo_shows_name() {
        let template = MailTemplate::LowBalance;
        let mail = render_source(
            &template.default_source(),
            &brand(false),
            &template.sample_values(),
        )
        .unwrap();
        assert!(!mail.html.contains("<img"));
        assert!(mail.html.contains(">Harbour Telecom</span>"));
    }

    #[test]
    fn render_escapes_html_but_not_text() {
        let template = MailTemplate::PaymentReceipt;
        let mut vars = template.sample_values();
        vars["legal_name"] = json!("Smith & <Sons>");
        let mail = render_source(&template.default_source(), &brand(true), &vars).unwrap();

        assert!(mail.html.contains("Smith &amp; &lt;Sons&gt;"));
        assert!(!mail.html.contains("<Sons>"));
        assert!(mail.text.contains("Smith & <Sons>"));
        assert!(mail.subject.contains("Smith & <Sons>"));
    }

    #[test]
    fn render_rejects_missing_variable() {
        let template = MailTemplate::Activation;
        let mut vars = template.sample_values();
        vars.as_object_mut().unwrap().remove("activation_url");
        let errors = render_source(&template.default_source(), &brand(true), &vars).unwrap_err();

        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["body_html", "body_text"]);
        assert!(
            errors[0].message.contains("undefined"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn subject_becomes_one_line() {
        let source = TemplateSource {
            subject: "Hello\r\n{{ brand.name }}\nBcc: x@example.com".into(),
            body_html: "<p>Hi</p>".into(),
            body_text: "Hi".into(),
        };
        let mail = render_source(&source, &brand(true), &json!({})).unwrap();
        assert_eq!(mail.subject, "Hello Harbour Telecom Bcc: x@example.com");
    }

    #[test]
    fn validate_reports_line_and_part() {
        let errors = validate_template(
            MailTemplate::Activation,
            "Welcome {{ contact_name }}",
            "<p>One</p>\n<p>{% if contact_name %}Two</p>\n",
            "Hello {{ contact_nmae }}",
        )
        .unwrap_err();

        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].field, "body_html");
        assert!(
            errors[0].message.starts_with("line "),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains("syntax error"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[1].field, "body_text");
        assert!(
            errors[1].message.contains("line 1"),
            "{}",
            errors[1].message
        );
        assert!(
            errors[1].message.contains("undefined"),
            "{}",
            errors[1].message
        );
    }

    #[test]
    fn validate_accepts_loops_and_layout() {
        let result = validate_template(
            MailTemplate::PasswordReset,
            "Reset for {{ name | upper }}",
            "{% extends \"layout.html\" %}{% block content %}\
             {% for n in range(3) %}<p>{{ n }} {{ reset_url }}</p>{% endfor %}{% endblock %}",
            "{% if brand.support_phone %}Call {{ brand.support_phone }}{% endif %} {{ expires_at }}",
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn validate_stops_runaway_loops() {
        let errors = validate_template(
            MailTemplate::PasswordReset,
            "Reset",
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
            "text",
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "body_html");
    }

    #[test]
    fn validate_rejects_empty_parts() {
        let errors = validate_template(MailTemplate::Invitation, " ", "", "text").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["subject", "body_html"]);
    }

    #[test]
    fn text_layout_ends_with_support_details() {
        let template = MailTemplate::PasswordReset;
        let mail = render_source(
            &template.default_source(),
            &brand(true),
            &template.sample_values(),
        )
        .unwrap();
        assert!(
            mail.text.starts_with("Reset your password\n"),
            "{}",
            mail.text
        );
        assert!(
            mail.text.ends_with(
                "-- \nHarbour Telecom\nSupport: help@harbour.example, +64 9 555 0199\n\
                 https://portal.harbour.example\n"
            ),
            "{}",
            mail.text
        );
    }
}
