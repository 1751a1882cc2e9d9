//! Authorization across the whole router: every route of the portal and the API, called by each
//! kind of caller on the objects of the caller's own tenant and on those of another tenant.
//!
//! The table must name every route. `every_route_has_a_table_entry` compares it with the API
//! routes of the running server's OpenAPI document and with the `.route("PATH", …)` calls in
//! `crates/web/src`, so a route added without a table entry fails that test.
//!
//! Rows whose `bug` note is set assert the safe outcome where the product currently allows more
//! than the role table in `tandem_domain::role` and `docs/architecture.md` permit. They fail
//! until the product is fixed, and the failure message repeats the note. The tests after the
//! walk check cross-tenant paths that no single request shows.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, COOKIE, IF_MATCH, LOCATION};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use support::{create_white_label, customer_body, fresh_store, test_settings, PASSWORD};
use tandem::Server;
use tandem_app::access::PlatformAdmin;
use tandem_app::activation::ActivationInput;
use tandem_app::numbers::NumberLine;
use tandem_app::payments::GatewayInput;
use tandem_app::App;
use tandem_domain::{Role, WhiteLabelId};

/// The Platform Administrator every world has.
const PLATFORM_EMAIL: &str = "root@platform.example";
/// The host of the platform's own portal: a name no white label claims.
const PLATFORM_HOST: &str = "localhost";
/// The value of the double-submitted CSRF cookie and field of forms source before sign-in. The
/// server only compares the two, so any value of 32 characters or more works.
const DOUBLE_SUBMIT_TOKEN: &str = "authorization-test-double-submit-token-0123456789";
/// The smallest valid PNG: one transparent pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

// ---------------------------------------------------------------------------------------------
// Callers, expectations and table rows
// ---------------------------------------------------------------------------------------------

/// A kind of caller. Sessions are used on the host named. API keys are sent to their own white
/// label's host, where they act as an anonymous visitor on portal pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallerKind {
    Anonymous,
    /// A Platform Administrator's session on the platform's own host.
    PlatformOnPlatformHost,
    /// A Platform Administrator's session on the white label's host.
    PlatformOnWhiteLabelHost,
    WhiteLabelSession,
    WhiteLabelKey,
    /// The Account Administrator of the white label's managed customer.
    AccountAdministrator,
    /// A Tech of the same customer.
    Tech,
    /// A Standard User of the same customer.
    StandardUser,
    /// An API key of the same customer with the Account Administrator role.
    AccountAdministratorKey,
    /// An API key of the same customer with the Tech role.
    TechKey,
    /// An administrator of the second white label, on that white label's host.
    OtherWhiteLabelSession,
    /// An API key of the second white label.
    OtherWhiteLabelKey,
}

const CUSTOMER_MEMBERS: [CallerKind; 5] = [
    CallerKind::AccountAdministrator,
    CallerKind::Tech,
    CallerKind::StandardUser,
    CallerKind::AccountAdministratorKey,
    CallerKind::TechKey,
];

impl CallerKind {
    /// Returns true when the caller has no portal session.
    fn sessionless(self) -> bool {
        matches!(
            self,
            CallerKind::Anonymous
                | CallerKind::WhiteLabelKey
                | CallerKind::OtherWhiteLabelKey
                | CallerKind::AccountAdministratorKey
                | CallerKind::TechKey
        )
    }
}

/// Whose objects a request names: those of the caller's own tenant or of the other tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Objects {
    Own,
    Other,
}

/// The outcome a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Status(u16),
    /// 303 See Other to this path (any query string aside), or to a path under it when it ends
    /// with `/`.
    SeeOther(&'static str),
    /// A rejection: 401, 403, 404 or 410. Used for safe outcomes whose status the product has
    /// not chosen yet.
    Denied,
    /// Any of these statuses.
    OneOf(&'static [u16]),
}

const SIGN_IN: Expect = Expect::SeeOther("/sign-in");
const OK: Expect = Expect::Status(200);
const CREATED: Expect = Expect::Status(201);
const NO_CONTENT: Expect = Expect::Status(204);
const FORBIDDEN: Expect = Expect::Status(403);
const NOT_FOUND: Expect = Expect::Status(404);
const INVALID: Expect = Expect::Status(422);
/// Either a success or a rejection, for callers that a row does not constrain.
const ANY_OUTCOME: Expect = Expect::OneOf(&[200, 401, 403, 404]);

impl Expect {
    fn matches(&self, outcome: &Outcome) -> bool {
        match *self {
            Expect::Status(status) => outcome.status == status,
            Expect::SeeOther(prefix) => {
                let path = outcome.location.as_deref().map(location_path);
                outcome.status == 303
                    && path.is_some_and(|path| {
                        let route = path.split('?').next().unwrap_or("");
                        if prefix.ends_with('/') && prefix.len() > 1 {
                            route.starts_with(prefix)
                        } else {
                            route == prefix
                        }
                    })
            }
            Expect::Denied => matches!(outcome.status, 401 | 403 | 404 | 410),
            Expect::OneOf(statuses) => statuses.contains(&outcome.status),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Status(status) => write!(f, "{status}"),
            Expect::SeeOther(path) => write!(f, "303 to {path}"),
            Expect::Denied => f.write_str("a rejection (401, 403, 404 or 410)"),
            Expect::OneOf(statuses) => write!(f, "one of {statuses:?}"),
        }
    }
}

/// Returns the path of a `Location` header, without scheme and host when it is absolute.
fn location_path(location: &str) -> &str {
    match location.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|at| &rest[at..]).unwrap_or("/"),
        None => location,
    }
}

/// The guard a route uses, which decides how each kind of caller is turned away.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// No sign-in. The host decides the brand.
    Public,
    /// Any signed-in user (`PortalSession`).
    Session,
    /// `WhiteLabelPortal`: a white label's administrators, or a Platform Administrator on the
    /// white label's host.
    WhiteLabelPortal,
    /// `AccountPortal`: members of a customer account of the host's white label.
    AccountPortal,
    /// `AccountPortal` and then the team guard, which needs `ManageAccountUsers`.
    AccountTeamPortal,
    /// `PlatformPortal`: Platform Administrators on the platform's host.
    PlatformPortal,
    /// `WhiteLabelApi`.
    WhiteLabelApi,
    /// `PlatformApi`.
    PlatformApi,
    /// `ApiCaller` and the team guard of `api/team.rs`.
    TeamApi,
    /// `ApiCaller` and the guard of `api/account_keys.rs`: the caller's own customer account.
    AccountApi,
    /// `ApiCaller` and `operator()` of `api/pbx.rs`: an account of the caller's white label,
    /// configured by that white label's administrators or by the account's members whose role
    /// permits the route. Account Administrators hold every permission these routes need.
    /// Techs hold `manage_pbx` but neither `manage_numbers` nor `manage_conferences`, so `tech`
    /// is true on the routes that let them through. Every row names a customer in its path.
    AccountConfigApi { tech: bool },
    /// Listed caller by caller.
    PerCaller(&'static [(CallerKind, Expect)]),
}

/// A request body. Placeholders such as `<customer>` are replaced before sending.
#[derive(Debug, Clone, Copy)]
enum Body {
    Empty,
    /// A form. The request carries its CSRF token too: the session's, or the double-submitted
    /// one on `Access::Public` rows.
    Form(&'static [(&'static str, &'static str)]),
    Json(&'static str),
    /// Raw bytes with `Content-Type: application/json`, as a gateway sends its webhooks.
    Raw(&'static str),
    Png,
    /// The settings page's logo upload: multipart with the session's CSRF token and [`PNG`].
    LogoUpload,
}

/// One request of the table, sent by every caller.
#[derive(Debug, Clone)]
struct Case {
    /// The method as the router declares it. `ANY` is sent as GET.
    method: &'static str,
    /// The route as the router or the OpenAPI document names it.
    route: &'static str,
    /// The path sent, with placeholders.
    path: &'static str,
    access: Access,
    body: Body,
    /// The outcome for callers the guard lets through, on their own tenant's objects.
    ok: Expect,
    /// The outcome for those callers on the other tenant's objects. It is 404 unless set, or
    /// `ok` on platform routes.
    cross: Option<Expect>,
    /// The outcome of `Access::Public` rows on the platform's host, which no white label claims.
    platform_host: Option<Expect>,
    overrides: Vec<(CallerKind, Option<Objects>, Expect)>,
    /// Text that must not appear in the named caller's response.
    hidden: Vec<(CallerKind, &'static str)>,
    if_match: Option<&'static str>,
    /// Sent only on the other tenant's objects.
    other_only: bool,
    /// Names a customer with `account_id`. Customer members who lack the permission then get 404
    /// on the other tenant's account, which is not theirs, rather than 403.
    account_scoped: bool,
    /// Sent with a new session of the caller's user, because the request ends its session.
    fresh_session: bool,
    /// Makes the acting user a member of a customer, which changes what later rows see. These
    /// rows run after all others.
    grants_membership: bool,
    /// Why the expected outcome differs from what the product does today.
    bug: Option<&'static str>,
}

fn case(method: &'static str, route: &'static str, path: &'static str, access: Access) -> Case {
    Case {
        method,
        route,
        path,
        access,
        body: Body::Empty,
        ok: OK,
        cross: None,
        platform_host: None,
        overrides: Vec::new(),
        hidden: Vec::new(),
        if_match: None,
        other_only: false,
        account_scoped: false,
        fresh_session: false,
        grants_membership: false,
        bug: None,
    }
}

/// Builds a row whose route and sent path are the same.
fn at(method: &'static str, route: &'static str, access: Access) -> Case {
    case(method, route, route, access)
}

impl Case {
    fn ok(mut self, expect: Expect) -> Self {
        self.ok = expect;
        self
    }

    fn cross(mut self, expect: Expect) -> Self {
        self.cross = Some(expect);
        self
    }

    fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    fn form(self, fields: &'static [(&'static str, &'static str)]) -> Self {
        self.body(Body::Form(fields))
    }

    fn json(self, json: &'static str) -> Self {
        self.body(Body::Json(json))
    }

    fn platform_host(mut self, expect: Expect) -> Self {
        self.platform_host = Some(expect);
        self
    }

    /// Sets the outcome for one caller, on both kinds of objects or on one.
    fn except(mut self, kind: CallerKind, objects: Option<Objects>, expect: Expect) -> Self {
        self.overrides.push((kind, objects, expect));
        self
    }

    /// Sets the outcome for each of `callers`, on both kinds of objects.
    fn except_each(mut self, callers: &[CallerKind], expect: Expect) -> Self {
        for kind in callers {
            self.overrides.push((*kind, None, expect));
        }
        self
    }

    fn hides(mut self, kind: CallerKind, text: &'static str) -> Self {
        self.hidden.push((kind, text));
        self
    }

    fn if_match(mut self, version: &'static str) -> Self {
        self.if_match = Some(version);
        self
    }

    fn other_only(mut self) -> Self {
        self.other_only = true;
        self
    }

    fn account_scoped(mut self) -> Self {
        self.account_scoped = true;
        self
    }

    fn fresh_session(mut self) -> Self {
        self.fresh_session = true;
        self
    }

    fn grants_membership(mut self) -> Self {
        self.grants_membership = true;
        self
    }

    fn bug(mut self, note: &'static str) -> Self {
        self.bug = Some(note);
        self
    }

    /// Lists the kinds of objects this row is sent with: the other tenant's too when it names any.
    fn objects(&self) -> Vec<Objects> {
        if self.other_only {
            vec![Objects::Other]
        } else if self.names_tenant_objects() {
            vec![Objects::Own, Objects::Other]
        } else {
            vec![Objects::Own]
        }
    }

    fn names_tenant_objects(&self) -> bool {
        let body = match self.body {
            Body::Form(fields) => fields.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(" "),
            Body::Json(text) | Body::Raw(text) => text.to_string(),
            Body::Empty | Body::Png | Body::LogoUpload => String::new(),
        };
        placeholders(self.path)
            .into_iter()
            .chain(placeholders(&body))
            .any(|name| TENANT_PLACEHOLDERS.contains(&name.as_str()))
    }

    fn is_platform_route(&self) -> bool {
        matches!(self.access, Access::PlatformPortal | Access::PlatformApi)
    }

    /// Returns the outcome for `kind` on `objects`.
    fn expected(&self, kind: CallerKind, objects: Objects) -> Expect {
        let overridden = self
            .overrides
            .iter()
            .find(|(w, o, _)| *w == kind && o.is_none_or(|o| o == objects));
        if let Some((_, _, expect)) = overridden {
            return *expect;
        }
        let allowed = match objects {
            Objects::Own => self.ok,
            Objects::Other if self.is_platform_route() => self.cross.unwrap_or(self.ok),
            Objects::Other => self.cross.unwrap_or(NOT_FOUND),
        };
        use CallerKind::*;
        let names_other_account = objects == Objects::Other && self.account_scoped;
        match self.access {
            Access::Public if kind == PlatformOnPlatformHost => {
                self.platform_host.unwrap_or(allowed)
            }
            Access::Public => allowed,
            Access::Session
            | Access::WhiteLabelPortal
            | Access::AccountPortal
            | Access::AccountTeamPortal
            | Access::PlatformPortal
                if kind.sessionless() =>
            {
                SIGN_IN
            }
            Access::Session => allowed,
            Access::WhiteLabelPortal => match kind {
                PlatformOnPlatformHost => Expect::SeeOther("/white-labels"),
                PlatformOnWhiteLabelHost | WhiteLabelSession | OtherWhiteLabelSession => allowed,
                _ => FORBIDDEN,
            },
            Access::AccountPortal | Access::AccountTeamPortal => match kind {
                PlatformOnPlatformHost => NOT_FOUND,
                AccountAdministrator => allowed,
                Tech | StandardUser if matches!(self.access, Access::AccountPortal) => allowed,
                _ => FORBIDDEN,
            },
            Access::PlatformPortal => match kind {
                PlatformOnPlatformHost => allowed,
                _ => Expect::SeeOther("/customers"),
            },
            Access::WhiteLabelApi => match kind {
                Anonymous => Expect::Status(401),
                PlatformOnWhiteLabelHost
                | WhiteLabelSession
                | WhiteLabelKey
                | OtherWhiteLabelSession
                | OtherWhiteLabelKey => allowed,
                _ => FORBIDDEN,
            },
            Access::PlatformApi => match kind {
                Anonymous => Expect::Status(401),
                PlatformOnPlatformHost | PlatformOnWhiteLabelHost => allowed,
                _ => FORBIDDEN,
            },
            Access::TeamApi => match kind {
                Anonymous => Expect::Status(401),
                PlatformOnPlatformHost => FORBIDDEN,
                Tech | StandardUser | TechKey if names_other_account => NOT_FOUND,
                Tech | StandardUser | TechKey => FORBIDDEN,
                _ => allowed,
            },
            Access::AccountApi => match kind {
                Anonymous => Expect::Status(401),
                AccountAdministrator | AccountAdministratorKey => allowed,
                Tech | StandardUser | TechKey if names_other_account => NOT_FOUND,
                _ => FORBIDDEN,
            },
            Access::AccountConfigApi { tech } => match kind {
                Anonymous => Expect::Status(401),
                // The platform's own host names no white label, so it reaches no account.
                PlatformOnPlatformHost => FORBIDDEN,
                Tech | TechKey if tech => allowed,
                // The other tenant's account is not one the members belong to.
                Tech | StandardUser | TechKey if objects == Objects::Other => NOT_FOUND,
                Tech | StandardUser | TechKey => FORBIDDEN,
                _ => allowed,
            },
            Access::PerCaller(list) => list
                .iter()
                .find(|(w, _)| *w == kind)
                .map(|(_, expect)| *expect)
                .unwrap_or_else(|| {
                    panic!(
                        "{} {} lists no outcome for {kind:?}",
                        self.method, self.path
                    )
                }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// Placeholders that name an object of the tenant a request is sent for.
const TENANT_PLACEHOLDERS: &[&str] = &[
    "wl",
    "customer",
    "pending",
    "plan",
    "payment",
    "outbox",
    "activation_token",
    "invitation_token",
    "reset_token",
    "fresh_pending",
    "fresh_plan",
    "fresh_key",
    "fresh_wl_invitation",
    "fresh_customer_invitation",
    "fresh_wl_membership",
    "fresh_customer_membership",
    "fresh_payment",
    "fresh_activation_token",
    "fresh_invitation_token",
    "fresh_reset_token",
    "fresh_account_key",
    "number",
    "policy_version",
    "extension",
    "ring_group",
    "ivr_menu",
    "voicemail_box",
    "time_condition",
    "conference_bridge",
    "fresh_number",
    "fresh_pool_number",
    "fresh_port_order",
    "fresh_submitted_port_order",
    "fresh_scheduled_port_order",
    "fresh_extension",
    "fresh_ring_group",
    "fresh_ivr_menu",
    "fresh_voicemail_box",
    "fresh_time_condition",
    "fresh_conference_bridge",
];

const PLAN_FORM: &[(&str, &str)] = &[
    ("name", "<fresh_name>"),
    ("description", "Authorization test plan"),
    ("setup_fee", "10.00"),
    ("monthly_fee", "20.00"),
    ("included_extensions", "3"),
    ("extra_extension_fee", "1.00"),
    ("number_rental", "1.00"),
    ("min_opening_credit", "0.00"),
    ("version", "1"),
];

/// A customer form that fails validation, so that it creates nothing.
const INVALID_CUSTOMER_FORM: &[(&str, &str)] = &[
    ("mode", "white_label_managed"),
    ("business.legal_name", "Invalid Email Ltd"),
    ("contact.email", "not-an-email"),
];

/// A valid customer form for the plan of the tenant the request is sent for.
const CUSTOMER_FORM: &[(&str, &str)] = &[
    ("mode", "white_label_managed"),
    ("plan_id", "<plan>"),
    ("business.legal_name", "Visitor Joinery Ltd"),
    ("contact.given_name", "Aroha"),
    ("contact.family_name", "Ngata"),
    ("contact.email", "<fresh_email>"),
    ("contact.phone", "021 123 4567"),
    ("billing_address.line1", "12 Queen Street"),
    ("billing_address.suburb", "Auckland Central"),
    ("billing_address.city", "Auckland"),
    ("billing_address.postcode", "1010"),
    ("billing_address.country", "NZ"),
    ("service_address.same_as_billing", "on"),
    ("time_zone", "Pacific/Auckland"),
];

const ACTIVATION_FORM: &[(&str, &str)] = &[
    ("given_name", "Pat"),
    ("family_name", "Payer"),
    ("password", "<password>"),
    ("password_confirmation", "<password>"),
    ("accept_terms", "on"),
    ("opening_credit", "150.00"),
];

const PLAN_JSON: &str = r#"{"name": "<fresh_name>", "description": "Authorization test plan",
    "setup_fee": "10.00", "monthly_fee": "20.00", "included_extensions": 3,
    "extra_extension_fee": "1.00", "number_rental": "1.00", "min_opening_credit": "0.00"}"#;

const INVALID_CUSTOMER_JSON: &str =
    r#"{"mode": "white_label_managed", "business": {"legal_name": "Invalid Ltd"}}"#;

const CUSTOMER_JSON: &str = r#"{"mode": "white_label_managed", "plan_id": "<plan>",
    "business": {"legal_name": "Visitor Joinery Ltd"},
    "contact": {"given_name": "Aroha", "family_name": "Ngata", "email": "<fresh_email>",
                "phone": "021 123 4567"},
    "billing_address": {"line1": "12 Queen Street", "suburb": "Auckland Central",
                        "city": "Auckland", "postcode": "1010", "country": "NZ"},
    "service_address": {"same_as_billing": true}, "time_zone": "Pacific/Auckland"}"#;

const METRICS_NOTE: &str = "/metrics serves the platform's request counters by route and \
    status to anyone on every white label's public host, although it is not a public page";

/// Lists every route with the requests that check it.
fn table() -> Vec<Case> {
    use Access::*;
    use CallerKind::*;
    let mut cases = vec![
        // Portal shell and brand assets: crates/web/src/portal/mod.rs
        at(
            "GET",
            "/",
            PerCaller(&[
                (Anonymous, SIGN_IN),
                (PlatformOnPlatformHost, Expect::SeeOther("/white-labels")),
                (PlatformOnWhiteLabelHost, Expect::SeeOther("/customers")),
                (WhiteLabelSession, Expect::SeeOther("/customers")),
                (WhiteLabelKey, SIGN_IN),
                (AccountAdministrator, Expect::SeeOther("/account")),
                (Tech, Expect::SeeOther("/account")),
                (StandardUser, Expect::SeeOther("/account")),
                (OtherWhiteLabelSession, Expect::SeeOther("/customers")),
                (OtherWhiteLabelKey, SIGN_IN),
                (AccountAdministratorKey, SIGN_IN),
                (TechKey, SIGN_IN),
            ]),
        ),
        at("GET", "/static/tandem.css", Public),
        // Brand assets are public by design: the sign-in page of every host shows them.
        case(
            "GET",
            "/brand/{id}/theme.css",
            "/brand/<wl>/theme.css",
            Public,
        )
        .cross(OK),
        case("GET", "/brand/{id}/logo", "/brand/<wl>/logo", Public).cross(OK),
        // Sign-in and sign-out: portal/auth.rs
        at("GET", "/sign-in", Public),
        at("POST", "/sign-in", Public)
            .form(&[
                ("email", "<std_email>"),
                ("password", "<password>"),
                ("next", "/"),
            ])
            .ok(Expect::SeeOther("/")),
        at("POST", "/sign-out", Session).fresh_session().ok(SIGN_IN),
        // The second step of a sign-in needs the cookie of a first step, which no caller has.
        at("GET", "/sign-in/code", Public).ok(SIGN_IN),
        at("POST", "/sign-in/code", Public)
            .form(&[("code", "000000"), ("next", "/")])
            .ok(SIGN_IN),
        // Self-activation and the test gateway: portal/activation.rs
        case(
            "GET",
            "/activate/{token}",
            "/activate/<activation_token>",
            Public,
        )
        .platform_host(NOT_FOUND),
        case(
            "POST",
            "/activate/{token}",
            "/activate/<fresh_activation_token>",
            Public,
        )
        .form(ACTIVATION_FORM)
        .ok(Expect::SeeOther("/pay/test/"))
        .platform_host(NOT_FOUND),
        case(
            "GET",
            "/activate/return/{payment_id}",
            "/activate/return/<payment>",
            Public,
        )
        .platform_host(NOT_FOUND),
        case(
            "GET",
            "/pay/test/{payment_id}",
            "/pay/test/<payment>",
            Public,
        )
        .platform_host(NOT_FOUND),
        // Anyone who has a payment's id may approve it on the test gateway, as on a card form.
        case(
            "POST",
            "/pay/test/{payment_id}",
            "/pay/test/<fresh_payment>",
            Public,
        )
        .form(&[("decision", "approve")])
        .ok(Expect::SeeOther("/activate/return/"))
        .platform_host(NOT_FOUND),
        // A customer account's own pages: portal/account.rs
        at("GET", "/account", AccountPortal)
            .hides(Tech, "account-balance")
            .hides(StandardUser, "account-balance")
            .bug(
                "the account page shows the balance to Techs and Standard Users, whose roles \
                  lack view_billing",
            ),
        at("POST", "/account/switch", AccountPortal)
            .form(&[("account_id", "<customer>")])
            .ok(Expect::SeeOther("/account")),
        // Switching to a sibling account of the same white label is refused like a stranger's.
        at("POST", "/account/switch", AccountPortal)
            .form(&[("account_id", "<pending>")])
            .ok(NOT_FOUND),
        // The signed-in user's own profile: portal/profile.rs
        at("GET", "/profile", Session),
        at("POST", "/profile", Session).form(&[("name", "Profile Name")]),
        at("POST", "/profile/two-factor", Session),
        at("POST", "/profile/two-factor/confirm", Session)
            .form(&[("code", "000000")])
            .ok(INVALID),
        at("POST", "/profile/two-factor/disable", Session)
            .form(&[("password", "not the password"), ("code", "000000")])
            .ok(INVALID),
        // Customers: portal/customers.rs
        at("GET", "/customers", WhiteLabelPortal),
        at("POST", "/customers", WhiteLabelPortal)
            .form(INVALID_CUSTOMER_FORM)
            .ok(INVALID),
        // A valid form naming the other tenant's plan must not create a customer on it.
        at("POST", "/customers", WhiteLabelPortal)
            .form(CUSTOMER_FORM)
            .other_only()
            .cross(INVALID),
        at("GET", "/customers/new", WhiteLabelPortal),
        case(
            "GET",
            "/customers/new/{mode}",
            "/customers/new/managed",
            WhiteLabelPortal,
        ),
        case(
            "GET",
            "/customers/{id}",
            "/customers/<customer>",
            WhiteLabelPortal,
        ),
        case(
            "GET",
            "/customers/{id}/created",
            "/customers/<customer>/created",
            WhiteLabelPortal,
        ),
        case(
            "POST",
            "/customers/{id}/activation/resend",
            "/customers/<fresh_pending>/activation/resend",
            WhiteLabelPortal,
        ),
        case(
            "POST",
            "/customers/{id}/activation/email",
            "/customers/<fresh_pending>/activation/email",
            WhiteLabelPortal,
        )
        .form(&[("contact.email", "<fresh_email>")]),
        case(
            "POST",
            "/customers/{id}/cancel",
            "/customers/<fresh_pending>/cancel",
            WhiteLabelPortal,
        )
        .form(&[("reason", "Authorization test")]),
        case(
            "POST",
            "/customers/{id}/convert",
            "/customers/<fresh_pending>/convert",
            WhiteLabelPortal,
        )
        .grants_membership(),
        // Plans: portal/plans.rs
        at("GET", "/plans", WhiteLabelPortal),
        at("POST", "/plans", WhiteLabelPortal)
            .form(PLAN_FORM)
            .ok(Expect::SeeOther("/plans")),
        at("GET", "/plans/new", WhiteLabelPortal),
        case("GET", "/plans/{id}", "/plans/<plan>", WhiteLabelPortal),
        case(
            "POST",
            "/plans/{id}",
            "/plans/<fresh_plan>",
            WhiteLabelPortal,
        )
        .form(PLAN_FORM)
        .ok(Expect::SeeOther("/plans")),
        case(
            "POST",
            "/plans/{id}/retire",
            "/plans/<fresh_plan>/retire",
            WhiteLabelPortal,
        )
        .ok(Expect::SeeOther("/plans")),
        // Payment gateway and payments: portal/payments.rs
        at("GET", "/settings/payments", WhiteLabelPortal),
        at("POST", "/settings/payments", WhiteLabelPortal)
            .form(&[("kind", "test")])
            .ok(Expect::SeeOther("/settings/payments")),
        at("GET", "/payments", WhiteLabelPortal),
        // Balance, audit log and API keys: portal/billing.rs
        at("GET", "/billing", WhiteLabelPortal),
        at("GET", "/audit", WhiteLabelPortal),
        at("GET", "/api-keys", WhiteLabelPortal),
        at("POST", "/api-keys", WhiteLabelPortal).form(&[("name", "<fresh_name>")]),
        case(
            "POST",
            "/api-keys/{id}/revoke",
            "/api-keys/<fresh_key>/revoke",
            WhiteLabelPortal,
        )
        .ok(Expect::SeeOther("/api-keys")),
        // Settings and branding: portal/settings.rs
        at("GET", "/settings", WhiteLabelPortal),
        // portal/sip.rs: the white label's SIP domain (saving the default changes nothing) and
        // blocks; a block that does not exist is not found.
        at("GET", "/sip", WhiteLabelPortal),
        at("POST", "/sip/domain", WhiteLabelPortal).form(&[("sip_domain", "")]),
        case(
            "POST",
            "/sip/blocks/{block_id}/clear",
            "/sip/blocks/blk_01m91hfsthdjx1bcqkbyqk6c85/clear",
            WhiteLabelPortal,
        )
        .ok(NOT_FOUND),
        at("GET", "/platform/sip", PlatformPortal),
        case(
            "POST",
            "/platform/sip/blocks/{block_id}/clear",
            "/platform/sip/blocks/blk_01m91hfsthdjx1bcqkbyqk6c85/clear",
            PlatformPortal,
        )
        .ok(NOT_FOUND),
        at("POST", "/settings", WhiteLabelPortal)
            .form(&[("name", "")])
            .ok(INVALID),
        at("POST", "/settings/logo", WhiteLabelPortal)
            .body(Body::LogoUpload)
            .ok(Expect::SeeOther("/settings")),
        // Sent unticked: requiring a second factor would send every later session to enrol.
        at("POST", "/settings/two-factor", WhiteLabelPortal)
            .form(&[("require_two_factor", "")])
            .ok(Expect::SeeOther("/settings")),
        // Teams: portal/team.rs
        at("GET", "/team", WhiteLabelPortal),
        case("POST", "/team/{action}", "/team/invite", WhiteLabelPortal)
            .form(&[("emails", "<fresh_email>"), ("role", "white_label")]),
        case("POST", "/team/{action}", "/team/add", WhiteLabelPortal).form(&[
            ("name", "<fresh_name>"),
            ("email", "<fresh_email>"),
            ("role", "white_label"),
        ]),
        case(
            "POST",
            "/team/{action}/{id}",
            "/team/resend/<fresh_wl_invitation>",
            WhiteLabelPortal,
        ),
        case(
            "POST",
            "/team/{action}/{id}",
            "/team/revoke/<fresh_wl_invitation>",
            WhiteLabelPortal,
        ),
        case(
            "POST",
            "/team/{action}/{id}",
            "/team/member/<fresh_wl_membership>",
            WhiteLabelPortal,
        )
        .form(&[("change", "disable")]),
        case(
            "GET",
            "/customers/{customer}/team",
            "/customers/<customer>/team",
            WhiteLabelPortal,
        ),
        case(
            "POST",
            "/customers/{customer}/team/{action}",
            "/customers/<customer>/team/invite",
            WhiteLabelPortal,
        )
        .form(&[("emails", "<fresh_email>"), ("role", "tech")]),
        case(
            "POST",
            "/customers/{customer}/team/{action}/{id}",
            "/customers/<customer>/team/member/<fresh_customer_membership>",
            WhiteLabelPortal,
        )
        .form(&[("change", "disable")]),
        case(
            "POST",
            "/customers/{customer}/team/{action}/{id}",
            "/customers/<customer>/team/resend/<fresh_customer_invitation>",
            WhiteLabelPortal,
        ),
        at("GET", "/account/team", AccountTeamPortal),
        case(
            "POST",
            "/account/team/{action}",
            "/account/team/invite",
            AccountTeamPortal,
        )
        .form(&[("emails", "<fresh_email>"), ("role", "standard_user")]),
        case(
            "POST",
            "/account/team/{action}/{id}",
            "/account/team/member/<fresh_customer_membership>",
            AccountTeamPortal,
        )
        .form(&[("change", "disable")]),
        case(
            "POST",
            "/account/team/{action}/{id}",
            "/account/team/revoke/<fresh_customer_invitation>",
            AccountTeamPortal,
        ),
        // A customer account's API keys: portal/account_keys.rs. Managing them needs
        // manage_account_users, as managing the team does.
        at("GET", "/account/api-keys", AccountTeamPortal),
        at("POST", "/account/api-keys", AccountTeamPortal)
            .form(&[("name", "<fresh_name>"), ("role", "standard_user")]),
        case(
            "POST",
            "/account/api-keys/{id}/revoke",
            "/account/api-keys/<fresh_account_key>/revoke",
            AccountTeamPortal,
        )
        .ok(Expect::SeeOther("/account/api-keys")),
        // The white label's own keys are out of an account's reach.
        case(
            "POST",
            "/account/api-keys/{id}/revoke",
            "/account/api-keys/<fresh_key>/revoke",
            AccountTeamPortal,
        )
        .ok(NOT_FOUND),
        // Invitations and passwords: portal/passwords.rs
        case(
            "GET",
            "/invitations/{token}",
            "/invitations/<invitation_token>",
            Public,
        )
        .platform_host(NOT_FOUND),
        case(
            "POST",
            "/invitations/{token}",
            "/invitations/<fresh_invitation_token>",
            Public,
        )
        .form(&[("name", "<fresh_name>"), ("password", "<password>")])
        .ok(Expect::SeeOther("/"))
        .platform_host(NOT_FOUND),
        at("GET", "/forgot-password", Public),
        at("POST", "/forgot-password", Public)
            .form(&[("email", "<fresh_email>")])
            .platform_host(NOT_FOUND),
        // A reset link names a login, which is one per person across the platform, so it works
        // on any host. Only the person who received the link has its token.
        case(
            "GET",
            "/reset-password/{token}",
            "/reset-password/<reset_token>",
            Public,
        )
        .cross(OK),
        case(
            "POST",
            "/reset-password/{token}",
            "/reset-password/<fresh_reset_token>",
            Public,
        )
        .form(&[("password", "a brand new password")])
        .cross(OK),
        // Mail, mail templates and webhooks: portal/messages.rs
        at("GET", "/outbox", WhiteLabelPortal),
        case("GET", "/outbox/{id}", "/outbox/<outbox>", WhiteLabelPortal),
        at("GET", "/email-templates", WhiteLabelPortal),
        at("POST", "/email-templates/sender", WhiteLabelPortal)
            .form(&[("mail_from_name", ""), ("mail_from_address", "")])
            .ok(Expect::SeeOther("/email-templates")),
        case(
            "GET",
            "/email-templates/{name}",
            "/email-templates/invitation",
            WhiteLabelPortal,
        ),
        case(
            "POST",
            "/email-templates/{name}",
            "/email-templates/invitation",
            WhiteLabelPortal,
        )
        .form(&[
            ("action", "preview"),
            ("subject", "You are invited"),
            ("body_html", "<p>Join: {{ invitation_url }}</p>"),
            ("body_text", "Join: {{ invitation_url }}"),
        ]),
        case(
            "POST",
            "/email-templates/{name}/reset",
            "/email-templates/invitation/reset",
            WhiteLabelPortal,
        )
        .ok(Expect::SeeOther("/email-templates/invitation")),
        at("GET", "/webhooks", WhiteLabelPortal),
        at("POST", "/webhooks", WhiteLabelPortal).form(&[("webhook_url", "")]),
        at("POST", "/webhooks/secret", WhiteLabelPortal),
        // Without a webhook address the test event is rejected as input, after the guard.
        at("POST", "/webhooks/test", WhiteLabelPortal).ok(INVALID),
        // The platform's own portal: portal/platform.rs
        at("GET", "/white-labels", PlatformPortal),
        at("POST", "/white-labels", PlatformPortal)
            .form(&[("name", "")])
            .ok(INVALID),
        at("GET", "/white-labels/new", PlatformPortal),
        case(
            "GET",
            "/white-labels/{id}",
            "/white-labels/<wl>",
            PlatformPortal,
        ),
        case(
            "POST",
            "/white-labels/{id}",
            "/white-labels/<wl>",
            PlatformPortal,
        )
        .form(&[("name", ""), ("version", "1")])
        .ok(INVALID),
        case(
            "POST",
            "/white-labels/{id}/balance",
            "/white-labels/<wl>/balance",
            PlatformPortal,
        )
        .form(&[
            ("kind", "top_up"),
            ("amount", "1.00"),
            ("reason", "Authorization test"),
        ])
        .ok(Expect::SeeOther("/white-labels/")),
        case(
            "POST",
            "/white-labels/{id}/credit-limit",
            "/white-labels/<wl>/credit-limit",
            PlatformPortal,
        )
        .form(&[("credit_limit", "0.00")])
        .ok(Expect::SeeOther("/white-labels/")),
        at("GET", "/platform-audit", PlatformPortal),
        // Operations: ops.rs
        at("GET", "/healthz", Public),
        // Platform Administrators may reach the metrics or not. Other callers must be rejected.
        at("GET", "/metrics", Public)
            .ok(Expect::Denied)
            .platform_host(ANY_OUTCOME)
            .except(PlatformOnWhiteLabelHost, None, ANY_OUTCOME)
            .bug(METRICS_NOTE),
        // Gateway webhooks: webhooks.rs. An unsigned event is rejected from any sender.
        case(
            "POST",
            "/webhooks/{gateway}/{white_label_id}",
            "/webhooks/test/<wl>",
            Public,
        )
        .body(Body::Raw("{}"))
        .ok(Expect::Status(400))
        .cross(Expect::Status(400)),
        // API plumbing: api/mod.rs
        at("GET", "/api/v1/openapi.json", Public),
        case("ANY", "/api/{*rest}", "/api/v0/no-such-route", Public).ok(NOT_FOUND),
    ];
    cases.extend(api_table());
    cases.extend(numbers_portal_table());
    cases.extend(pbx_portal_table());
    cases
}

/// Builds a row for a page of portal/numbers.rs under `/accounts/{customer_id}/`. Its guard
/// admits a session on the white label's host whose principal yields an `AccountOperator` for
/// the account: the white label's administrators (and a Platform Administrator on that host),
/// and the account's members whose role has the page's permission. They get `ok` on their own
/// tenant's account, except the members in `lacking`, who get 403. Every signed-in caller gets
/// 404 on the other tenant's account, and so does the platform's own host, which names no
/// white label.
fn account_page(
    method: &'static str,
    route: &'static str,
    path: &'static str,
    ok: Expect,
    lacking: &[CallerKind],
) -> Case {
    use CallerKind::*;
    let mut row = case(method, route, path, Access::AccountPortal).ok(ok);
    for kind in [
        PlatformOnWhiteLabelHost,
        WhiteLabelSession,
        OtherWhiteLabelSession,
    ] {
        row = row.except(kind, Some(Objects::Own), ok);
        row = row.except(kind, Some(Objects::Other), NOT_FOUND);
    }
    for kind in lacking {
        row = row.except(*kind, Some(Objects::Own), FORBIDDEN);
    }
    row
}

/// Lists the rows of the number pages: the platform's inventory, and an account's numbers,
/// port orders and routing (portal/numbers.rs). Changes redirect to the page they were made
/// on. +64 7 800 9999 is a valid number that no fixture loads.
fn numbers_portal_table() -> Vec<Case> {
    use Access::*;
    use CallerKind::*;
    // Techs and Standard Users lack manage_numbers. Standard Users lack manage_pbx too.
    let no_numbers: &[CallerKind] = &[Tech, StandardUser];
    let no_pbx: &[CallerKind] = &[StandardUser];
    // Moving numbers between accounts, and the carrier's side of a port order, are for the
    // white label's administrators only.
    let white_label_only: &[CallerKind] = &[AccountAdministrator, Tech, StandardUser];
    let changed = Expect::SeeOther("/accounts/");
    let transition_route = "/accounts/{customer_id}/port-orders/{order}/transition";
    vec![
        at("GET", "/platform/numbers", PlatformPortal),
        case(
            "GET",
            "/platform/numbers",
            "/platform/numbers?state=available&prefix=%2B64",
            PlatformPortal,
        ),
        // The load form is multipart. The logo upload's body holds no numbers, so the load is
        // rejected as input after the guard.
        at("POST", "/platform/numbers/load", PlatformPortal)
            .body(Body::LogoUpload)
            .ok(INVALID),
        // Returns a number of the tenant's pool to the platform's pool.
        at("POST", "/platform/numbers/allocate", PlatformPortal).form(&[
            ("allocate_numbers", "<fresh_pool_number>"),
            ("allocate_white_label", "platform"),
        ]),
        account_page(
            "GET",
            "/accounts/{customer_id}/numbers",
            "/accounts/<customer>/numbers",
            OK,
            no_numbers,
        ),
        // The search of available numbers is for the white label's administrators. The
        // account's members see a note in its place.
        account_page(
            "GET",
            "/accounts/{customer_id}/numbers",
            "/accounts/<customer>/numbers?search=1&prefix=09",
            OK,
            no_numbers,
        ),
        // A dry run: the confirmation page shows the charges and changes nothing.
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers",
            "/accounts/<customer>/numbers",
            OK,
            no_numbers,
        )
        .form(&[("number", "<fresh_pool_number>")]),
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers",
            "/accounts/<customer>/numbers",
            Expect::Status(409),
            no_numbers,
        )
        .form(&[("number", "+64 7 800 9999")]),
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers/assign",
            "/accounts/<customer>/numbers/assign",
            changed,
            no_numbers,
        )
        .form(&[("number", "<fresh_pool_number>")])
        .except(
            CallerKind::AccountAdministrator,
            Some(Objects::Own),
            MEMBER_CHARGE,
        ),
        // A fresh number is at version 2: one for its load and one for its assignment.
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers/{number}/route",
            "/accounts/<customer>/numbers/<fresh_number>/route",
            changed,
            no_numbers,
        )
        .form(&[("destination", "hangup"), ("version", "2")]),
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers/{number}/release",
            "/accounts/<customer>/numbers/<fresh_number>/release",
            changed,
            no_numbers,
        ),
        // A number the account does not hold is not found.
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers/{number}/release",
            "/accounts/<customer>/numbers/%2B6478009999/release",
            NOT_FOUND,
            no_numbers,
        ),
        account_page(
            "GET",
            "/accounts/{customer_id}/numbers/{number}/move",
            "/accounts/<customer>/numbers/<number>/move",
            OK,
            white_label_only,
        ),
        // The pending customer is another account of the same white label.
        account_page(
            "POST",
            "/accounts/{customer_id}/numbers/{number}/move",
            "/accounts/<customer>/numbers/<fresh_number>/move",
            changed,
            white_label_only,
        )
        .form(&[("to", "<pending>")]),
        account_page(
            "GET",
            "/accounts/{customer_id}/port-orders",
            "/accounts/<customer>/port-orders",
            OK,
            no_numbers,
        ),
        account_page(
            "POST",
            "/accounts/{customer_id}/port-orders",
            "/accounts/<customer>/port-orders",
            changed,
            no_numbers,
        )
        .form(&[
            ("numbers", "<fresh_phone_number>"),
            ("losing_carrier", "Spark"),
        ]),
        account_page(
            "POST",
            transition_route,
            "/accounts/<customer>/port-orders/<fresh_port_order>/transition",
            changed,
            no_numbers,
        )
        .form(&[("to", "submitted")]),
        account_page(
            "POST",
            transition_route,
            "/accounts/<customer>/port-orders/<fresh_port_order>/transition",
            changed,
            no_numbers,
        )
        .form(&[("to", "cancelled"), ("reason", "Authorization test")]),
        account_page(
            "POST",
            transition_route,
            "/accounts/<customer>/port-orders/<fresh_submitted_port_order>/transition",
            changed,
            white_label_only,
        )
        .form(&[("to", "scheduled"), ("date", "2099-12-14")]),
        account_page(
            "POST",
            transition_route,
            "/accounts/<customer>/port-orders/<fresh_submitted_port_order>/transition",
            changed,
            white_label_only,
        )
        .form(&[("to", "rejected"), ("reason", "Authorization test")]),
        account_page(
            "POST",
            transition_route,
            "/accounts/<customer>/port-orders/<fresh_scheduled_port_order>/transition",
            changed,
            white_label_only,
        )
        .form(&[("to", "completed")]),
        account_page(
            "GET",
            "/accounts/{customer_id}/routing",
            "/accounts/<customer>/routing",
            OK,
            no_pbx,
        ),
        // 111 is New Zealand's emergency number, which every account's routing table holds.
        account_page(
            "GET",
            "/accounts/{customer_id}/routing",
            "/accounts/<customer>/routing?dialled=111&date=2026-12-24&time=10%3A00",
            OK,
            no_pbx,
        ),
    ]
}

/// Lists the rows of the API routes, which the OpenAPI document describes.
fn api_table() -> Vec<Case> {
    use Access::*;
    use CallerKind::*;
    vec![
        // api/customers.rs
        at("GET", "/api/v1/customers", WhiteLabelApi),
        at("POST", "/api/v1/customers", WhiteLabelApi)
            .json(INVALID_CUSTOMER_JSON)
            .ok(INVALID),
        at("POST", "/api/v1/customers", WhiteLabelApi)
            .json(CUSTOMER_JSON)
            .other_only()
            .cross(INVALID),
        case(
            "GET",
            "/api/v1/customers/{id}",
            "/api/v1/customers/<customer>",
            WhiteLabelApi,
        ),
        case(
            "GET",
            "/api/v1/customers/{id}/ledger",
            "/api/v1/customers/<customer>/ledger",
            WhiteLabelApi,
        ),
        // api/activation.rs
        case(
            "GET",
            "/api/v1/customers/{id}/activation",
            "/api/v1/customers/<pending>/activation",
            WhiteLabelApi,
        ),
        case(
            "POST",
            "/api/v1/customers/{id}/activation/resend",
            "/api/v1/customers/<fresh_pending>/activation/resend",
            WhiteLabelApi,
        )
        .ok(NO_CONTENT),
        case(
            "PUT",
            "/api/v1/customers/{id}/contact-email",
            "/api/v1/customers/<fresh_pending>/contact-email",
            WhiteLabelApi,
        )
        .json(r#"{"email": "<fresh_email>"}"#)
        .ok(NO_CONTENT),
        case(
            "POST",
            "/api/v1/customers/{id}/cancel",
            "/api/v1/customers/<fresh_pending>/cancel",
            WhiteLabelApi,
        )
        .json(r#"{"reason": "Authorization test"}"#),
        case(
            "POST",
            "/api/v1/customers/{id}/convert",
            "/api/v1/customers/<fresh_pending>/convert",
            WhiteLabelApi,
        )
        .grants_membership(),
        at("GET", "/api/v1/payments", WhiteLabelApi),
        at("GET", "/api/v1/white-label/payment-gateway", WhiteLabelApi),
        at("PUT", "/api/v1/white-label/payment-gateway", WhiteLabelApi).json(r#"{"kind": "test"}"#),
        // api/plans.rs
        at("GET", "/api/v1/plans", WhiteLabelApi),
        at("POST", "/api/v1/plans", WhiteLabelApi)
            .json(PLAN_JSON)
            .ok(CREATED),
        case(
            "GET",
            "/api/v1/plans/{id}",
            "/api/v1/plans/<plan>",
            WhiteLabelApi,
        ),
        case(
            "PUT",
            "/api/v1/plans/{id}",
            "/api/v1/plans/<fresh_plan>",
            WhiteLabelApi,
        )
        .json(PLAN_JSON)
        .if_match("1"),
        case(
            "POST",
            "/api/v1/plans/{id}/retire",
            "/api/v1/plans/<fresh_plan>/retire",
            WhiteLabelApi,
        ),
        // api/white_labels.rs
        at("GET", "/api/v1/white-label", WhiteLabelApi),
        at("PUT", "/api/v1/white-label", WhiteLabelApi)
            .json(r#"{"name": ""}"#)
            .if_match("1")
            .ok(INVALID),
        at("PUT", "/api/v1/white-label/logo", WhiteLabelApi)
            .body(Body::Png)
            .ok(NO_CONTENT),
        at("GET", "/api/v1/white-label/ledger", WhiteLabelApi),
        at("GET", "/api/v1/white-labels", PlatformApi),
        at("POST", "/api/v1/white-labels", PlatformApi)
            .json(r#"{"name": ""}"#)
            .ok(INVALID),
        case(
            "GET",
            "/api/v1/white-labels/{id}",
            "/api/v1/white-labels/<wl>",
            PlatformApi,
        ),
        case(
            "PUT",
            "/api/v1/white-labels/{id}",
            "/api/v1/white-labels/<wl>",
            PlatformApi,
        )
        .json(r#"{"name": ""}"#)
        .if_match("1")
        .ok(INVALID),
        case(
            "POST",
            "/api/v1/white-labels/{id}/balance-entries",
            "/api/v1/white-labels/<wl>/balance-entries",
            PlatformApi,
        )
        .json(r#"{"kind": "top_up", "amount": "1.00", "reason": "Authorization test"}"#)
        .ok(CREATED),
        case(
            "PUT",
            "/api/v1/white-labels/{id}/credit-limit",
            "/api/v1/white-labels/<wl>/credit-limit",
            PlatformApi,
        )
        .json(r#"{"credit_limit": "0.00"}"#),
        // api/audit.rs
        at("GET", "/api/v1/audit", WhiteLabelApi),
        // Filtering by another tenant's customer must find nothing of it.
        case(
            "GET",
            "/api/v1/audit",
            "/api/v1/audit?customer_id=<customer>",
            WhiteLabelApi,
        )
        .cross(OK),
        at("GET", "/api/v1/api-keys", WhiteLabelApi),
        at("POST", "/api/v1/api-keys", WhiteLabelApi)
            .json(r#"{"name": "<fresh_name>"}"#)
            .ok(CREATED),
        case(
            "DELETE",
            "/api/v1/api-keys/{id}",
            "/api/v1/api-keys/<fresh_key>",
            WhiteLabelApi,
        )
        .ok(NO_CONTENT),
        // A customer's keys are the customer's: the white label's key routes do not reach them.
        case(
            "DELETE",
            "/api/v1/api-keys/{id}",
            "/api/v1/api-keys/<fresh_account_key>",
            WhiteLabelApi,
        )
        .ok(NOT_FOUND),
        // api/account_keys.rs
        at("GET", "/api/v1/account/api-keys", AccountApi),
        case(
            "GET",
            "/api/v1/account/api-keys",
            "/api/v1/account/api-keys?account_id=<customer>",
            AccountApi,
        )
        .account_scoped(),
        case(
            "GET",
            "/api/v1/account/api-keys",
            "/api/v1/account/api-keys?account_id=<pending>",
            AccountApi,
        )
        .except_each(&CUSTOMER_MEMBERS, NOT_FOUND),
        at("POST", "/api/v1/account/api-keys", AccountApi)
            .json(r#"{"name": "<fresh_name>", "role": "standard_user"}"#)
            .ok(CREATED),
        // An account's key never gets a role outside the account.
        at("POST", "/api/v1/account/api-keys", AccountApi)
            .json(r#"{"name": "<fresh_name>", "role": "white_label"}"#)
            .ok(INVALID),
        case(
            "DELETE",
            "/api/v1/account/api-keys/{id}",
            "/api/v1/account/api-keys/<fresh_account_key>?account_id=<customer>",
            AccountApi,
        )
        .account_scoped()
        .ok(NO_CONTENT),
        case(
            "DELETE",
            "/api/v1/account/api-keys/{id}",
            "/api/v1/account/api-keys/<fresh_key>",
            AccountApi,
        )
        .ok(NOT_FOUND),
        // api/team.rs. Without `account_id`, an Account Administrator acts on their own account.
        at("GET", "/api/v1/users", TeamApi),
        case(
            "GET",
            "/api/v1/users",
            "/api/v1/users?account_id=<customer>",
            TeamApi,
        )
        .account_scoped(),
        // A sibling account of the same white label is out of its members' reach.
        case(
            "GET",
            "/api/v1/users",
            "/api/v1/users?account_id=<pending>",
            TeamApi,
        )
        .account_scoped()
        .except_each(&CUSTOMER_MEMBERS, NOT_FOUND),
        at("POST", "/api/v1/users", TeamApi)
            .json(
                r#"{"name": "<fresh_name>", "email": "<fresh_email>", "role": "standard_user",
                    "account_id": "<customer>"}"#,
            )
            .account_scoped()
            .ok(CREATED),
        at("GET", "/api/v1/invitations", TeamApi),
        at("POST", "/api/v1/invitations", TeamApi)
            .json(r#"{"emails": ["<fresh_email>"], "role": "tech", "account_id": "<customer>"}"#)
            .account_scoped()
            .ok(CREATED),
        // Only a Platform Administrator may grant that role.
        at("POST", "/api/v1/invitations", TeamApi)
            .json(r#"{"emails": ["<fresh_email>"], "role": "platform_administrator"}"#)
            .ok(FORBIDDEN)
            .except(PlatformOnWhiteLabelHost, None, INVALID),
        case(
            "POST",
            "/api/v1/invitations/{id}/resend",
            "/api/v1/invitations/<fresh_customer_invitation>/resend?account_id=<customer>",
            TeamApi,
        )
        .account_scoped()
        .ok(NO_CONTENT),
        case(
            "DELETE",
            "/api/v1/invitations/{id}",
            "/api/v1/invitations/<fresh_customer_invitation>?account_id=<customer>",
            TeamApi,
        )
        .account_scoped()
        .ok(NO_CONTENT),
        case(
            "PATCH",
            "/api/v1/memberships/{id}",
            "/api/v1/memberships/<fresh_customer_membership>?account_id=<customer>",
            TeamApi,
        )
        .json(r#"{"state": "disabled"}"#)
        .account_scoped()
        .ok(NO_CONTENT),
        // Without `account_id` the white label's own team is meant. An Account Administrator's
        // default is their account, which this membership is not on.
        case(
            "PATCH",
            "/api/v1/memberships/{id}",
            "/api/v1/memberships/<fresh_wl_membership>",
            TeamApi,
        )
        .json(r#"{"state": "disabled"}"#)
        .ok(NO_CONTENT)
        .except_each(&[AccountAdministrator, AccountAdministratorKey], NOT_FOUND),
        case(
            "DELETE",
            "/api/v1/memberships/{id}",
            "/api/v1/memberships/<fresh_customer_membership>?account_id=<customer>",
            TeamApi,
        )
        .account_scoped()
        .ok(NO_CONTENT),
    ]
    .into_iter()
    .chain(pbx_api_table())
    .collect()
}

/// The start of a WAV file. The recording upload reads the file type from the leading bytes
/// only, so this is enough.
const WAV: &str = "RIFF\x24\0\0\0WAVEfmt \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// The start of a number search's result that lists at least one number.
const SEARCH_FOUND: &str = r#""items":[{"#;

/// Lists the rows of the number inventory and of a customer account's numbers, port orders and
/// PBX: `api/numbers.rs` and `api/pbx.rs`.
fn pbx_api_table() -> Vec<Case> {
    use Access::*;
    use CallerKind::*;
    // Numbers and port orders need manage_numbers, which Techs lack.
    let numbers = AccountConfigApi { tech: false };
    let pbx = AccountConfigApi { tech: true };
    let mut cases = vec![
        // api/numbers.rs. The search takes the white label's administrators and the members of
        // its accounts who may assign numbers (Account Administrators). A Platform
        // Administrator on the platform's host searches the whole inventory.
        at("GET", "/api/v1/numbers", WhiteLabelApi)
            .except(PlatformOnPlatformHost, None, OK)
            .except_each(&[AccountAdministrator, AccountAdministratorKey], OK),
        // Searching for a number of the other white label's pool finds nothing, except on the
        // platform's host.
        case(
            "GET",
            "/api/v1/numbers",
            "/api/v1/numbers?prefix=<fresh_pool_number>",
            WhiteLabelApi,
        )
        .other_only()
        .cross(OK)
        .except(PlatformOnPlatformHost, None, OK)
        .except_each(&[AccountAdministrator, AccountAdministratorKey], OK)
        .hides(AccountAdministrator, SEARCH_FOUND)
        .hides(AccountAdministratorKey, SEARCH_FOUND)
        .hides(PlatformOnWhiteLabelHost, SEARCH_FOUND)
        .hides(WhiteLabelSession, SEARCH_FOUND)
        .hides(WhiteLabelKey, SEARCH_FOUND)
        .hides(OtherWhiteLabelSession, SEARCH_FOUND)
        .hides(OtherWhiteLabelKey, SEARCH_FOUND),
        at("POST", "/api/v1/numbers", PlatformApi).json(r#"{"numbers": ["<fresh_phone_number>"]}"#),
        // Returns a number of the tenant's pool to the platform's pool.
        at("POST", "/api/v1/numbers/allocate", PlatformApi)
            .json(r#"{"numbers": ["<fresh_pool_number>"]}"#),
        case(
            "GET",
            "/api/v1/customers/{id}/numbers",
            "/api/v1/customers/<customer>/numbers",
            numbers,
        ),
        member_charges(
            case(
                "POST",
                "/api/v1/customers/{id}/numbers",
                "/api/v1/customers/<customer>/numbers",
                numbers,
            )
            .json(r#"{"number": "<fresh_pool_number>"}"#)
            .ok(CREATED),
            &CHARGING_MEMBERS[..2],
        ),
        case(
            "DELETE",
            "/api/v1/customers/{id}/numbers/{number}",
            "/api/v1/customers/<customer>/numbers/<fresh_number>",
            numbers,
        ),
        // Routing a number needs manage_numbers.
        // A fresh number is at version 2: one for its load and one for its assignment.
        case(
            "PUT",
            "/api/v1/customers/{id}/numbers/{number}/destination",
            "/api/v1/customers/<customer>/numbers/<fresh_number>/destination",
            numbers,
        )
        .json(r#"{"destination": "hangup", "version": 2}"#),
        // The pending customer is another account of the same white label.
        case(
            "POST",
            "/api/v1/customers/{id}/numbers/{number}/move",
            "/api/v1/customers/<customer>/numbers/<fresh_number>/move",
            WhiteLabelApi,
        )
        .json(r#"{"to": "<pending>"}"#),
        case(
            "GET",
            "/api/v1/customers/{id}/port-orders",
            "/api/v1/customers/<customer>/port-orders",
            numbers,
        ),
        case(
            "POST",
            "/api/v1/customers/{id}/port-orders",
            "/api/v1/customers/<customer>/port-orders",
            numbers,
        )
        .json(r#"{"numbers": ["<fresh_phone_number>"], "losing_carrier": "Spark"}"#)
        .ok(CREATED),
        // The account submits and cancels its port orders. The white label deals with the
        // carriers, so only its administrators schedule, complete and reject them, as on
        // `WhiteLabelApi` routes.
        case(
            "POST",
            "/api/v1/customers/{id}/port-orders/{order}/transitions",
            "/api/v1/customers/<customer>/port-orders/<fresh_port_order>/transitions",
            numbers,
        )
        .json(r#"{"to": "submitted"}"#),
        case(
            "POST",
            "/api/v1/customers/{id}/port-orders/{order}/transitions",
            "/api/v1/customers/<customer>/port-orders/<fresh_port_order>/transitions",
            numbers,
        )
        .json(r#"{"to": "cancelled"}"#),
        case(
            "POST",
            "/api/v1/customers/{id}/port-orders/{order}/transitions",
            "/api/v1/customers/<customer>/port-orders/<fresh_submitted_port_order>/transitions",
            WhiteLabelApi,
        )
        .json(r#"{"to": "scheduled", "date": "2099-12-14"}"#),
        case(
            "POST",
            "/api/v1/customers/{id}/port-orders/{order}/transitions",
            "/api/v1/customers/<customer>/port-orders/<fresh_submitted_port_order>/transitions",
            WhiteLabelApi,
        )
        .json(r#"{"to": "rejected", "reason": "Authorization test"}"#),
        case(
            "POST",
            "/api/v1/customers/{id}/port-orders/{order}/transitions",
            "/api/v1/customers/<customer>/port-orders/<fresh_scheduled_port_order>/transitions",
            WhiteLabelApi,
        )
        .json(r#"{"to": "completed"}"#),
        // api/pbx.rs
        case(
            "POST",
            "/api/v1/customers/{id}/extensions/{object}/sip-password",
            "/api/v1/customers/<customer>/extensions/<extension>/sip-password",
            pbx,
        ),
        // The import reads the body as CSV whatever its content type.
        case(
            "POST",
            "/api/v1/customers/{id}/extensions/import",
            "/api/v1/customers/<customer>/extensions/import",
            pbx,
        )
        .body(Body::Raw(
            "number,name\n<fresh_short_number>,Authorization test\n",
        )),
        case(
            "POST",
            "/api/v1/customers/{id}/recordings",
            "/api/v1/customers/<customer>/recordings",
            pbx,
        )
        .body(Body::Raw(WAV))
        .ok(CREATED),
        case(
            "GET",
            "/api/v1/customers/{id}/outbound-policy",
            "/api/v1/customers/<customer>/outbound-policy",
            pbx,
        ),
        case(
            "PUT",
            "/api/v1/customers/{id}/outbound-policy",
            "/api/v1/customers/<customer>/outbound-policy",
            pbx,
        )
        .json(
            r#"{"allowed": ["national", "mobile"], "concurrent_calls": 4, "dial_rules": [],
                "version": <policy_version>}"#,
        ),
        case(
            "GET",
            "/api/v1/customers/{id}/routing",
            "/api/v1/customers/<customer>/routing",
            pbx,
        ),
        case(
            "GET",
            "/api/v1/customers/{id}/routing/trace",
            "/api/v1/customers/<customer>/routing/trace?number=<number>",
            pbx,
        ),
        // api/sip.rs: an account's SIP settings, registrations and blocks.
        case(
            "GET",
            "/api/v1/customers/{id}/sip",
            "/api/v1/customers/<customer>/sip",
            pbx,
        ),
        case(
            "PUT",
            "/api/v1/customers/{id}/sip",
            "/api/v1/customers/<customer>/sip",
            pbx,
        )
        .json(r#"{"sha256": false}"#),
        case(
            "GET",
            "/api/v1/customers/{id}/registrations",
            "/api/v1/customers/<customer>/registrations",
            pbx,
        ),
        case(
            "GET",
            "/api/v1/customers/{id}/sip/blocks",
            "/api/v1/customers/<customer>/sip/blocks",
            pbx,
        ),
        case(
            "DELETE",
            "/api/v1/customers/{id}/sip/blocks/{block}",
            "/api/v1/customers/<customer>/sip/blocks/blk_01m91hfsthdjx1bcqkbyqk6c85",
            pbx,
        )
        .ok(NOT_FOUND),
        // The white label's SIP domain; saving the default changes nothing.
        at("GET", "/api/v1/white-label/sip", WhiteLabelApi),
        at("PUT", "/api/v1/white-label/sip", WhiteLabelApi).json(r#"{"sip_domain": ""}"#),
        // Blocks: a white label's, or every one for a Platform Administrator on the platform's
        // host.
        at("GET", "/api/v1/sip/blocks", WhiteLabelApi).except(PlatformOnPlatformHost, None, OK),
        case(
            "DELETE",
            "/api/v1/sip/blocks/{block}",
            "/api/v1/sip/blocks/blk_01m91hfsthdjx1bcqkbyqk6c85",
            WhiteLabelApi,
        )
        .ok(NOT_FOUND)
        .except(PlatformOnPlatformHost, None, NOT_FOUND),
    ];
    for kind in &PBX_KINDS {
        cases.extend(pbx_object_rows(kind));
    }
    cases
}

/// The members of an account who may configure what costs money when the account pays for
/// itself.
const CHARGING_MEMBERS: [CallerKind; 4] = [
    CallerKind::AccountAdministrator,
    CallerKind::AccountAdministratorKey,
    CallerKind::Tech,
    CallerKind::TechKey,
];

/// The outcome for an account's member of an action that may cost money: it succeeds while
/// it is free (an extension within the plan) or the account pays for itself, and is refused
/// where the white label pays, as it does for the managed account of the world's first
/// tenant once its plan's extensions are used up.
const MEMBER_CHARGE: Expect = Expect::OneOf(&[200, 201, 303, 403]);

/// Expects [`MEMBER_CHARGE`] for `members` on their own account's objects.
fn member_charges(row: Case, members: &[CallerKind]) -> Case {
    members.iter().fold(row, |row, kind| {
        row.except(*kind, Some(Objects::Own), MEMBER_CHARGE)
    })
}

/// A kind of PBX object, with the five routes that `api/pbx.rs` declares for every kind.
struct PbxKind {
    /// The placeholder of the managed customer's object of this kind, which the world makes.
    /// The same name after `fresh_` makes a new object for one request.
    placeholder: &'static str,
    /// The last segment of the list route, such as `extensions`.
    segment: &'static str,
    list_route: &'static str,
    list_path: &'static str,
    object_route: &'static str,
    object_path: &'static str,
    /// The object route with a fresh object, for edits and deletions.
    fresh_path: &'static str,
    /// A valid new object, as JSON.
    create: &'static str,
    /// `create` with the version of a new object.
    edit: &'static str,
    access: Access,
}

/// Builds a [`PbxKind`] from the segment of its routes, its placeholder and the fields of a
/// valid object.
macro_rules! pbx_kind {
    ($segment:literal, $placeholder:literal, $fields:literal, $access:expr) => {
        PbxKind {
            placeholder: $placeholder,
            segment: $segment,
            list_route: concat!("/api/v1/customers/{id}/", $segment),
            list_path: concat!("/api/v1/customers/<customer>/", $segment),
            object_route: concat!("/api/v1/customers/{id}/", $segment, "/{object}"),
            object_path: concat!(
                "/api/v1/customers/<customer>/",
                $segment,
                "/<",
                $placeholder,
                ">"
            ),
            fresh_path: concat!(
                "/api/v1/customers/<customer>/",
                $segment,
                "/<fresh_",
                $placeholder,
                ">"
            ),
            create: concat!("{", $fields, "}"),
            edit: concat!("{", $fields, r#", "version": 1}"#),
            access: $access,
        }
    };
}

/// Every kind of PBX object. Objects that route calls send them to the tenant's extension, so
/// the extension comes first. Conference bridges need manage_conferences, which Techs lack.
static PBX_KINDS: [PbxKind; 6] = [
    pbx_kind!(
        "extensions",
        "extension",
        r#""number": "<fresh_short_number>", "name": "Authorization test""#,
        Access::AccountConfigApi { tech: true }
    ),
    pbx_kind!(
        "ring-groups",
        "ring_group",
        r#""number": "<fresh_short_number>", "name": "Authorization test",
            "members": ["<extension>"]"#,
        Access::AccountConfigApi { tech: true }
    ),
    pbx_kind!(
        "ivr-menus",
        "ivr_menu",
        r#""number": "<fresh_short_number>", "name": "Authorization test",
            "greeting_text": "Welcome", "options": {"1": "<extension>"}"#,
        Access::AccountConfigApi { tech: true }
    ),
    pbx_kind!(
        "voicemail-boxes",
        "voicemail_box",
        r#""number": "<fresh_short_number>", "name": "Authorization test", "pin": "4821""#,
        Access::AccountConfigApi { tech: true }
    ),
    pbx_kind!(
        "time-conditions",
        "time_condition",
        r#""name": "Authorization test",
            "weekly": [{"day": "mon", "open": "08:30", "close": "17:00"}],
            "open": "<extension>", "closed": "<extension>""#,
        Access::AccountConfigApi { tech: true }
    ),
    pbx_kind!(
        "conference-bridges",
        "conference_bridge",
        r#""number": "<fresh_short_number>", "name": "Authorization test", "pin": "4821""#,
        Access::AccountConfigApi { tech: false }
    ),
];

/// Lists the five rows of one kind of PBX object. Edits and deletions act on a fresh object,
/// because they change or remove what they touch.
fn pbx_object_rows(kind: &PbxKind) -> Vec<Case> {
    let mut create = case("POST", kind.list_route, kind.list_path, kind.access)
        .json(kind.create)
        .ok(CREATED);
    if kind.segment == "extensions" {
        create = member_charges(create, &CHARGING_MEMBERS);
    }
    vec![
        case("GET", kind.list_route, kind.list_path, kind.access),
        create,
        case("GET", kind.object_route, kind.object_path, kind.access),
        case("PUT", kind.object_route, kind.fresh_path, kind.access).json(kind.edit),
        case("DELETE", kind.object_route, kind.fresh_path, kind.access).ok(NO_CONTENT),
    ]
}

// ---------------------------------------------------------------------------------------------
// The phone-system pages of a customer account: portal/pbx.rs
// ---------------------------------------------------------------------------------------------

/// The routes and a valid form of one kind of object's portal pages (portal/pbx.rs).
struct PortalKind {
    list_route: &'static str,
    list_path: &'static str,
    new_route: &'static str,
    new_path: &'static str,
    object_route: &'static str,
    object_path: &'static str,
    /// The object route with a fresh object, for edits.
    fresh_path: &'static str,
    delete_route: &'static str,
    delete_path: &'static str,
    /// A valid object, with the version of a new one, which creating ignores. It is `None` for
    /// a multipart form, whose rows are written out in [`pbx_portal_table`].
    form: Option<&'static [(&'static str, &'static str)]>,
    /// The customer members whose role lacks the pages' permission.
    lacking: &'static [CallerKind],
}

/// Builds a [`PortalKind`] from the path segment of its pages, the placeholder of the world's
/// object of that kind, its form and the members it turns away.
macro_rules! portal_kind {
    ($segment:literal, $placeholder:literal, $form:expr, $lacking:expr) => {
        PortalKind {
            list_route: concat!("/accounts/{customer_id}/", $segment),
            list_path: concat!("/accounts/<customer>/", $segment),
            new_route: concat!("/accounts/{customer_id}/", $segment, "/new"),
            new_path: concat!("/accounts/<customer>/", $segment, "/new"),
            object_route: concat!("/accounts/{customer_id}/", $segment, "/{id}"),
            object_path: concat!("/accounts/<customer>/", $segment, "/<", $placeholder, ">"),
            fresh_path: concat!(
                "/accounts/<customer>/",
                $segment,
                "/<fresh_",
                $placeholder,
                ">"
            ),
            delete_route: concat!("/accounts/{customer_id}/", $segment, "/{id}/delete"),
            delete_path: concat!(
                "/accounts/<customer>/",
                $segment,
                "/<fresh_",
                $placeholder,
                ">/delete"
            ),
            form: $form,
            lacking: $lacking,
        }
    };
}

/// Standard Users lack manage_pbx, which every page but the conference bridges' needs.
const LACKING_PBX: &[CallerKind] = &[CallerKind::StandardUser];
/// Techs and Standard Users lack manage_conferences.
const LACKING_CONFERENCES: &[CallerKind] = &[CallerKind::Tech, CallerKind::StandardUser];

static PORTAL_KINDS: [PortalKind; 6] = [
    portal_kind!(
        "extensions",
        "extension",
        Some(&[
            ("number", "<fresh_short_number>"),
            ("name", "Authorization test"),
            ("voicemail", "on"),
            ("version", "1"),
        ]),
        LACKING_PBX
    ),
    portal_kind!(
        "ring-groups",
        "ring_group",
        Some(&[
            ("number", "<fresh_short_number>"),
            ("name", "Authorization test"),
            ("member_0", "<extension>"),
            ("strategy", "sequential"),
            ("version", "1"),
        ]),
        LACKING_PBX
    ),
    portal_kind!("ivr-menus", "ivr_menu", None, LACKING_PBX),
    portal_kind!(
        "voicemail-boxes",
        "voicemail_box",
        Some(&[
            ("number", "<fresh_short_number>"),
            ("name", "Authorization test"),
            ("pin", "4821"),
            ("version", "1"),
        ]),
        LACKING_PBX
    ),
    portal_kind!(
        "time-conditions",
        "time_condition",
        Some(&[
            ("name", "Authorization test"),
            ("hours_mon_0_open", "08:30"),
            ("hours_mon_0_close", "17:00"),
            ("exceptions", "2026-12-25 Christmas Day"),
            ("open", "<extension>"),
            ("closed", "hangup"),
            ("version", "1"),
        ]),
        LACKING_PBX
    ),
    portal_kind!(
        "conference-bridges",
        "conference_bridge",
        Some(&[
            ("number", "<fresh_short_number>"),
            ("name", "Authorization test"),
            ("max_participants", "8"),
            ("version", "1"),
        ]),
        LACKING_CONFERENCES
    ),
];

/// Lists the rows of a customer account's phone-system pages (portal/pbx.rs). Their guard,
/// `PbxPortal`, admits the same callers as the number pages, so the rows use [`account_page`].
fn pbx_portal_table() -> Vec<Case> {
    use CallerKind::*;
    // A save responds with 303 to the list, or with 200 and the list when the account's
    // configuration has warnings to show, such as the world's inbound number, routed nowhere.
    let saved = Expect::OneOf(&[200, 303]);
    let to_list = Expect::SeeOther("/accounts/");
    let mut cases = vec![
        // The account member's navigation link, which leads to the account's pages.
        at("GET", "/account/phone-system", Access::AccountPortal)
            .ok(to_list)
            .except(StandardUser, None, FORBIDDEN),
        account_page(
            "GET",
            "/accounts/{customer_id}/outbound-policy",
            "/accounts/<customer>/outbound-policy",
            OK,
            LACKING_PBX,
        ),
        // portal/pbx/phones.rs: members save only the SHA-256 choice.
        account_page(
            "GET",
            "/accounts/{customer_id}/phones",
            "/accounts/<customer>/phones",
            OK,
            LACKING_PBX,
        ),
        account_page(
            "POST",
            "/accounts/{customer_id}/phones/settings",
            "/accounts/<customer>/phones/settings",
            OK,
            LACKING_PBX,
        )
        .form(&[("sha256", "")]),
        account_page(
            "POST",
            "/accounts/{customer_id}/phones/blocks/{block_id}/clear",
            "/accounts/<customer>/phones/blocks/blk_01m91hfsthdjx1bcqkbyqk6c85/clear",
            NOT_FOUND,
            LACKING_PBX,
        ),
        account_page(
            "POST",
            "/accounts/{customer_id}/outbound-policy",
            "/accounts/<customer>/outbound-policy",
            OK,
            LACKING_PBX,
        )
        .form(&[
            ("allowed_national", "on"),
            ("allowed_mobile", "on"),
            ("concurrent_calls", "4"),
            ("dial_rules", "1 1"),
            ("version", "<policy_version>"),
        ]),
        account_page(
            "POST",
            "/accounts/{customer_id}/extensions",
            "/accounts/<customer>/extensions",
            INVALID,
            LACKING_PBX,
        )
        .form(&[("number", ""), ("name", "")]),
        account_page(
            "GET",
            "/accounts/{customer_id}/extensions/import",
            "/accounts/<customer>/extensions/import",
            OK,
            LACKING_PBX,
        ),
        // The import form is multipart. The logo upload's body contains no CSV, so the import
        // is rejected as input after the guard.
        account_page(
            "POST",
            "/accounts/{customer_id}/extensions/import",
            "/accounts/<customer>/extensions/import",
            INVALID,
            LACKING_PBX,
        )
        .body(Body::LogoUpload),
        account_page(
            "POST",
            "/accounts/{customer_id}/extensions/{id}/sip-password",
            "/accounts/<customer>/extensions/<fresh_extension>/sip-password",
            OK,
            LACKING_PBX,
        ),
        // An object of another kind is not found on the extension pages.
        account_page(
            "GET",
            "/accounts/{customer_id}/extensions/{id}",
            "/accounts/<customer>/extensions/<ring_group>",
            NOT_FOUND,
            LACKING_PBX,
        ),
        // The IVR menu form is multipart. The logo upload's body contains none of the menu's
        // fields, so the menu is rejected as input after the guard.
        account_page(
            "POST",
            "/accounts/{customer_id}/ivr-menus",
            "/accounts/<customer>/ivr-menus",
            INVALID,
            LACKING_PBX,
        )
        .body(Body::LogoUpload),
        account_page(
            "POST",
            "/accounts/{customer_id}/ivr-menus/{id}",
            "/accounts/<customer>/ivr-menus/<fresh_ivr_menu>",
            INVALID,
            LACKING_PBX,
        )
        .body(Body::LogoUpload),
    ];
    for kind in &PORTAL_KINDS {
        let lacking = kind.lacking;
        cases.push(account_page(
            "GET",
            kind.list_route,
            kind.list_path,
            OK,
            lacking,
        ));
        cases.push(account_page(
            "GET",
            kind.new_route,
            kind.new_path,
            OK,
            lacking,
        ));
        cases.push(account_page(
            "GET",
            kind.object_route,
            kind.object_path,
            OK,
            lacking,
        ));
        cases.push(account_page(
            "POST",
            kind.delete_route,
            kind.delete_path,
            to_list,
            lacking,
        ));
        let Some(form) = kind.form else {
            continue;
        };
        // A new extension beyond the plan's included ones shows its charges for confirmation,
        // and one within them its SIP password: both are 200.
        let created = if kind.list_route.ends_with("/extensions") {
            OK
        } else {
            saved
        };
        cases.push(
            account_page("POST", kind.list_route, kind.list_path, created, lacking).form(form),
        );
        cases.push(
            account_page("POST", kind.object_route, kind.fresh_path, saved, lacking).form(form),
        );
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// The world: a server with two white labels, their objects and the callers
// ---------------------------------------------------------------------------------------------

/// A white label and the objects that requests name.
struct Tenant {
    /// The name `create_white_label` was given: `harbour` or `southern`.
    name: &'static str,
    /// A word in the name of every object made for this tenant, for the leak checks.
    marker: &'static str,
    id: WhiteLabelId,
    host: String,
    admin_email: String,
    api_key: String,
    plan: String,
    /// The customer created in "Me, the white-label administrator" mode; the customer members
    /// among the callers belong to it.
    customer: String,
    /// A customer pending self-activation, with a live link.
    pending: String,
    activation_token: String,
    /// A pending payment on the test gateway, of another pending customer.
    payment: String,
    /// The activation mail of `pending`.
    outbox: String,
    invitation_token: String,
    reset_token: String,
    /// An API key of `customer` with the Account Administrator role. Fixtures make the
    /// account's other keys with it.
    account_key: String,
    /// A number of the tenant's pool assigned to `customer`, in E.164 form.
    number: String,
    /// The ids of one PBX object of each kind in `customer`, by the kind's placeholder.
    pbx_objects: HashMap<&'static str, String>,
}

impl Tenant {
    /// Lower-case text that only this tenant's pages and responses may contain.
    fn own_text(&self) -> Vec<String> {
        vec![
            self.marker.to_lowercase(),
            format!("{} telecom", self.name),
            format!("@{}.example", self.name),
            format!("{}.localhost", self.name),
        ]
    }
}

#[derive(Debug, Clone)]
struct Session {
    token: String,
    csrf: String,
}

struct Caller {
    kind: CallerKind,
    /// The index in `World::tenants` of the caller's own tenant.
    home: usize,
    host: String,
    email: Option<String>,
    session: Option<Session>,
    api_key: Option<String>,
}

/// A response, reduced to what the checks read.
struct Outcome {
    status: u16,
    location: Option<String>,
    body: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(location) = &self.location {
            write!(f, " to {location}")?;
        }
        let excerpt = excerpt(&self.body);
        if !excerpt.is_empty() {
            write!(f, " ({excerpt})")?;
        }
        Ok(())
    }
}

/// Returns the title of an HTML page, or the start of any other body.
fn excerpt(body: &str) -> String {
    if let Some(start) = body.find("<title>") {
        let rest = &body[start + "<title>".len()..];
        return rest
            .split("</title>")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
    }
    body.chars()
        .take(160)
        .collect::<String>()
        .replace('\n', " ")
}

/// Whether a form's CSRF token (or the API's CSRF header) is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csrf {
    Send,
    Omit,
}

struct World {
    app: App,
    server: Server,
    client: Client,
    tenants: Vec<Tenant>,
    callers: Vec<Caller>,
    standard_user_email: String,
    counter: AtomicUsize,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts a server on loopback whose mail stays in the outbox table, where fixtures read the
/// links. It contacts nothing else, because the outbox worker and the activation expiry job are
/// off. Stripe's API address is on 127.0.0.1 too, though nothing calls it: both white labels use
/// the built-in test gateway.
async fn start_server() -> (App, Server, Client) {
    let mut settings = test_settings();
    settings.outbox_interval_ms = 0;
    settings.activation_expiry_interval_secs = 0;
    settings.stripe_api_base = "http://127.0.0.1:9".into();
    // Fixtures open a port order for every request that moves one.
    settings.max_open_port_orders = 10_000;
    let app = tandem::build_app(fresh_store().await, &settings);
    app.ensure_user_with_role(
        PLATFORM_EMAIL,
        "Root",
        PASSWORD,
        Role::PlatformAdministrator,
        None,
    )
    .await
    .expect("platform administrator");
    let server = Server::start(app.clone(), &settings)
        .await
        .expect("server starts");
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(PLATFORM_HOST, server.address)
        .resolve("harbour.localhost", server.address)
        .resolve("southern.localhost", server.address)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    (app, server, client)
}

impl World {
    async fn start() -> World {
        let (app, server, client) = start_server().await;
        let mut world = World {
            app,
            server,
            client,
            tenants: Vec::new(),
            callers: Vec::new(),
            standard_user_email: String::new(),
            counter: AtomicUsize::new(0),
        };
        for (name, marker) in [("harbour", "Quokka"), ("southern", "Zephyr")] {
            let tenant = world.tenant(name, marker).await;
            world.tenants.push(tenant);
        }
        world.callers = world.sign_in_callers().await;
        world.standard_user_email = world
            .caller(CallerKind::StandardUser)
            .email
            .clone()
            .unwrap_or_default();
        world
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.server.address.port())
    }

    /// A number that no earlier fixture or request of this world used, for unique names.
    fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Sends an API request with `key` to `host` and returns the status and the body.
    async fn api_as(
        &self,
        host: &str,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(host, path))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Sends an API request as `tenant`'s key and fails the test unless it succeeds.
    async fn api_ok(
        &self,
        tenant: &Tenant,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = self
            .api_as(&tenant.host, &tenant.api_key, method.clone(), path, body)
            .await;
        assert!(
            (200..300).contains(&status),
            "fixture request {method} {path} for {} failed with {status}: {value}",
            tenant.name
        );
        value
    }

    /// Reads the token that follows `marker` (such as `/invitations/`) in the newest mail to
    /// `recipient`.
    async fn mailed_token(&self, recipient: &str, marker: &str) -> String {
        let mut conn = self.app.store().conn().await.expect("database connection");
        let body: String = sqlx::query_scalar(
            "SELECT body_text FROM outbox WHERE recipient = $1 ORDER BY created_us DESC, id DESC",
        )
        .bind(recipient)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|error| panic!("no mail to {recipient}: {error}"));
        let start = body
            .find(marker)
            .unwrap_or_else(|| panic!("the mail to {recipient} has no {marker} link: {body}"))
            + marker.len();
        body[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !"\"'<>".contains(*c))
            .collect()
    }

    /// Creates a white label with the objects that requests name.
    async fn tenant(&self, name: &'static str, marker: &'static str) -> Tenant {
        let created = create_white_label(&self.app, name, "100000.00").await;
        let platform = PlatformAdmin::command_line().for_white_label(&created.id);
        let gateway = GatewayInput {
            kind: "test".into(),
            ..Default::default()
        };
        self.app
            .configure_gateway(&platform, &gateway)
            .await
            .expect("test gateway");
        let mut tenant = Tenant {
            name,
            marker,
            id: created.id.clone(),
            host: created.host.clone(),
            admin_email: created.admin_email.clone(),
            api_key: created.api_key.clone(),
            plan: String::new(),
            customer: String::new(),
            pending: String::new(),
            activation_token: String::new(),
            payment: String::new(),
            outbox: String::new(),
            invitation_token: String::new(),
            reset_token: String::new(),
            account_key: String::new(),
            number: String::new(),
            pbx_objects: HashMap::new(),
        };
        let logo = self
            .client
            .put(self.url(&tenant.host, "/api/v1/white-label/logo"))
            .bearer_auth(&tenant.api_key)
            .header(CONTENT_TYPE, "image/png")
            .body(PNG)
            .send()
            .await
            .expect("logo upload sent");
        assert_eq!(logo.status().as_u16(), 204, "logo of {name}");

        let plan = json!({"name": format!("{marker} Gold"), "description": "Authorization tests",
            "setup_fee": "49.00", "monthly_fee": "39.00", "included_extensions": 5,
            "extra_extension_fee": "5.00", "number_rental": "5.00", "min_opening_credit": "50.00"});
        let plan = self
            .api_ok(&tenant, Method::POST, "/api/v1/plans", Some(plan))
            .await;
        tenant.plan = plan["id"].as_str().expect("plan id").to_string();

        let mut body = customer_body(&tenant.plan, &format!("{marker} Managed Ltd"));
        body["contact"]["email"] = json!(format!("owner@{}.example", marker.to_lowercase()));
        let customer = self
            .api_ok(&tenant, Method::POST, "/api/v1/customers", Some(body))
            .await;
        tenant.customer = customer["id"].as_str().expect("customer id").to_string();

        let contact = format!("pending@{}.example", marker.to_lowercase());
        let legal_name = format!("{marker} Sibling Pending Ltd");
        (tenant.pending, tenant.activation_token) =
            self.pending_customer(&tenant, &legal_name, &contact).await;
        let mut conn = self.app.store().conn().await.expect("database connection");
        tenant.outbox = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE recipient = $1 ORDER BY created_us DESC, id DESC",
        )
        .bind(&contact)
        .fetch_one(&mut *conn)
        .await
        .expect("activation mail");
        drop(conn);

        tenant.payment = self.fresh_payment(&tenant).await;
        tenant.invitation_token = self.fresh_invitation_token(&tenant).await;
        tenant.reset_token = self.fresh_reset_token(&tenant).await;
        tenant.account_key = self.account_key(&tenant).await;
        tenant.number = self.assigned_number(&tenant).await;
        for kind in &PBX_KINDS {
            let id = self.pbx_object(&tenant, kind).await;
            tenant.pbx_objects.insert(kind.placeholder, id);
        }
        tenant
    }

    /// Adds an Account Administrator to the managed customer, who makes an Account
    /// Administrator key of the account, and returns the key's secret.
    async fn account_key(&self, tenant: &Tenant) -> String {
        let marker = tenant.marker;
        let email = format!("keyholder@{}.example", marker.to_lowercase());
        let body = json!({"name": format!("{marker} Keyholder"), "email": email,
                          "role": "account_administrator", "account_id": tenant.customer});
        self.api_ok(tenant, Method::POST, "/api/v1/users", Some(body))
            .await;
        let token = self.mailed_token(&email, "/reset-password/").await;
        self.app
            .reset_password(&token, PASSWORD)
            .await
            .expect("password set");
        let session = self
            .app
            .sign_in(&email, PASSWORD, None)
            .await
            .expect("keyholder signs in");

        let body =
            json!({"name": format!("{marker} account key"), "role": "account_administrator"});
        let response = self
            .client
            .post(self.url(&tenant.host, "/api/v1/account/api-keys"))
            .header(COOKIE, format!("tandem_session={}", session.token))
            .header("x-csrf-token", &session.csrf_token)
            .json(&body)
            .send()
            .await
            .expect("account key request sent");
        assert_eq!(
            response.status().as_u16(),
            201,
            "account key of {}",
            tenant.name
        );
        let created: Value = response.json().await.expect("account key JSON");
        created["secret"].as_str().expect("key secret").to_string()
    }

    /// Makes an API key of the managed customer with `role` and returns its id and secret.
    async fn fresh_account_key(&self, tenant: &Tenant, role: &str) -> (String, String) {
        let body = json!({"name": format!("{} account key {}", tenant.marker, self.next()),
                          "role": role});
        let (status, created) = self
            .api_as(
                &tenant.host,
                &tenant.account_key,
                Method::POST,
                "/api/v1/account/api-keys",
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "account key of {}: {created}", tenant.name);
        (
            created["id"].as_str().expect("key id").to_string(),
            created["secret"].as_str().expect("key secret").to_string(),
        )
    }

    /// Creates a customer pending self-activation and returns its id and activation token.
    async fn pending_customer(
        &self,
        tenant: &Tenant,
        legal_name: &str,
        contact: &str,
    ) -> (String, String) {
        let mut body = customer_body(&tenant.plan, legal_name);
        body["mode"] = json!("self_activation");
        body["contact"]["email"] = json!(contact);
        let customer = self
            .api_ok(tenant, Method::POST, "/api/v1/customers", Some(body))
            .await;
        let id = customer["id"].as_str().expect("customer id").to_string();
        (id, self.mailed_token(contact, "/activate/").await)
    }

    async fn fresh_pending(&self, tenant: &Tenant) -> (String, String) {
        let n = self.next();
        let marker = tenant.marker;
        let legal_name = format!("{marker} Sibling Fresh {n} Ltd");
        let contact = format!("pending{n}@{}.example", marker.to_lowercase());
        self.pending_customer(tenant, &legal_name, &contact).await
    }

    /// Starts a payment on the test gateway for a new pending customer and returns its id.
    async fn fresh_payment(&self, tenant: &Tenant) -> String {
        let (_, token) = self.fresh_pending(tenant).await;
        let input = ActivationInput {
            given_name: "Pat".into(),
            family_name: "Payer".into(),
            password: PASSWORD.into(),
            password_confirmation: PASSWORD.into(),
            accept_terms: true,
            opening_credit: "150.00".into(),
        };
        let started = self
            .app
            .start_activation_payment(&tenant.id, &token, &input)
            .await
            .expect("payment starts");
        started.payment_id.to_string()
    }

    /// Invites a new email to the managed customer's team and returns the invitation's id and
    /// the invitee's email.
    async fn fresh_customer_invitation(&self, tenant: &Tenant) -> (String, String) {
        let email = format!(
            "invitee{}@{}.example",
            self.next(),
            tenant.marker.to_lowercase()
        );
        let body = json!({"emails": [email], "role": "tech", "account_id": tenant.customer});
        let sent = self
            .api_ok(tenant, Method::POST, "/api/v1/invitations", Some(body))
            .await;
        (
            sent["ids"][0].as_str().expect("invitation id").to_string(),
            email,
        )
    }

    async fn fresh_invitation_token(&self, tenant: &Tenant) -> String {
        let (_, email) = self.fresh_customer_invitation(tenant).await;
        self.mailed_token(&email, "/invitations/").await
    }

    /// Adds a new Standard User (or White Label user when `account` is `None`) and returns
    /// their membership id and email.
    async fn fresh_member(&self, tenant: &Tenant, account: Option<&str>) -> (String, String) {
        let n = self.next();
        let email = format!("member{n}@{}.example", tenant.marker.to_lowercase());
        let name = format!("{} Member {n}", tenant.marker);
        let (body, list) = match account {
            Some(account) => (
                json!({"name": name, "email": email, "role": "standard_user",
                       "account_id": account}),
                format!("/api/v1/users?account_id={account}"),
            ),
            None => (
                json!({"name": name, "email": email, "role": "white_label"}),
                "/api/v1/users".to_string(),
            ),
        };
        let added = self
            .api_ok(tenant, Method::POST, "/api/v1/users", Some(body))
            .await;
        let users = self.api_ok(tenant, Method::GET, &list, None).await;
        let membership = users
            .as_array()
            .expect("user list")
            .iter()
            .find(|user| user["id"] == added["id"])
            .expect("the new member is listed")["membership_id"]
            .as_str()
            .expect("membership id")
            .to_string();
        (membership, email)
    }

    /// Adds a new member and returns the token of the link that sets their first password, which
    /// works like a reset link.
    async fn fresh_reset_token(&self, tenant: &Tenant) -> String {
        let (_, email) = self.fresh_member(tenant, Some(&tenant.customer)).await;
        self.mailed_token(&email, "/reset-password/").await
    }

    /// Returns a short number that no PBX object of this world has.
    fn short_number(&self) -> String {
        (200_000 + self.next()).to_string()
    }

    /// Returns a New Zealand number that is not in the inventory, in E.164 form.
    fn phone_number(&self) -> String {
        format!("+6494{:06}", self.next())
    }

    /// Loads a new number into the tenant's pool and returns it in E.164 form.
    async fn pool_number(&self, tenant: &Tenant) -> String {
        let number = self.phone_number();
        let line = NumberLine {
            line: 1,
            number: number.clone(),
            country: "NZ".into(),
        };
        let report = self
            .app
            .load_numbers(
                &PlatformAdmin::command_line(),
                &[line],
                Some(&tenant.id),
                &|_| {},
            )
            .await
            .expect("number load");
        assert_eq!(report.loaded, 1, "{number} for {}: {report:?}", tenant.name);
        number
    }

    /// Assigns a new number of the tenant's pool to the managed customer and returns it.
    async fn assigned_number(&self, tenant: &Tenant) -> String {
        let number = self.pool_number(tenant).await;
        let path = format!("/api/v1/customers/{}/numbers", tenant.customer);
        let body = json!({"number": number});
        let assigned = self.api_ok(tenant, Method::POST, &path, Some(body)).await;
        // The row that routes a fresh number sends this version.
        assert_eq!(
            assigned["number"]["version"], 2,
            "version of {number} after its assignment: {assigned}"
        );
        number
    }

    /// Starts a port order of a new number for the managed customer, moves it on to `state`
    /// (`draft`, `submitted` or `scheduled`) and returns its id.
    async fn port_order(&self, tenant: &Tenant, state: &str) -> String {
        let orders = format!("/api/v1/customers/{}/port-orders", tenant.customer);
        let body = json!({"numbers": [self.phone_number()], "losing_carrier": "Spark"});
        let order = self.api_ok(tenant, Method::POST, &orders, Some(body)).await;
        let id = order["id"].as_str().expect("port order id").to_string();
        let steps = match state {
            "draft" => vec![],
            "submitted" => vec![json!({"to": "submitted"})],
            "scheduled" => vec![
                json!({"to": "submitted"}),
                json!({"to": "scheduled", "date": "2099-12-14"}),
            ],
            other => panic!("no port order fixture in the state {other}"),
        };
        let transitions = format!("{orders}/{id}/transitions");
        for step in steps {
            self.api_ok(tenant, Method::POST, &transitions, Some(step))
                .await;
        }
        id
    }

    /// Creates an object of `kind` in the managed customer, named with the tenant's marker, and
    /// returns its id.
    async fn pbx_object(&self, tenant: &Tenant, kind: &PbxKind) -> String {
        // `fill` reaches this method through `fresh`, and an async call cycle does not compile
        // without boxing, so the placeholders of `create` are replaced here.
        let extension = tenant
            .pbx_objects
            .get("extension")
            .map_or("", String::as_str);
        let text = kind
            .create
            .replace("<fresh_short_number>", &self.short_number())
            .replace("<extension>", extension);
        let mut body: Value = serde_json::from_str(&text).expect("PBX object JSON");
        let noun = kind.placeholder.replace('_', " ");
        body["name"] = json!(format!("{} {noun} {}", tenant.marker, self.next()));
        let path = format!("/api/v1/customers/{}/{}", tenant.customer, kind.segment);
        let saved = self.api_ok(tenant, Method::POST, &path, Some(body)).await;
        saved["object"]["id"]
            .as_str()
            .expect("PBX object id")
            .to_string()
    }

    /// Reads the version of the managed customer's outbound policy, which every saved edit
    /// raises.
    async fn policy_version(&self, tenant: &Tenant) -> String {
        let path = format!("/api/v1/customers/{}/outbound-policy", tenant.customer);
        let policy = self.api_ok(tenant, Method::GET, &path, None).await;
        policy["version"]
            .as_i64()
            .expect("policy version")
            .to_string()
    }

    /// Makes a new object that one request may change or use up, and returns what names it.
    async fn fresh(&self, name: &str, tenant: &Tenant) -> Option<String> {
        let value = match name {
            "fresh_pending" => self.fresh_pending(tenant).await.0,
            "fresh_activation_token" => self.fresh_pending(tenant).await.1,
            "fresh_payment" => self.fresh_payment(tenant).await,
            "fresh_plan" => {
                let body = json!({"name": format!("{} Plan {}", tenant.marker, self.next()),
                    "setup_fee": "1.00", "monthly_fee": "1.00", "included_extensions": 1,
                    "extra_extension_fee": "1.00", "number_rental": "1.00",
                    "min_opening_credit": "0.00"});
                let plan = self
                    .api_ok(tenant, Method::POST, "/api/v1/plans", Some(body))
                    .await;
                plan["id"].as_str().expect("plan id").to_string()
            }
            "fresh_key" => {
                let body = json!({"name": format!("{} key {}", tenant.marker, self.next())});
                let key = self
                    .api_ok(tenant, Method::POST, "/api/v1/api-keys", Some(body))
                    .await;
                key["id"].as_str().expect("key id").to_string()
            }
            "fresh_wl_invitation" => {
                let email = format!("invitee{}@{}.example", self.next(), tenant.marker);
                let body = json!({"emails": [email.to_lowercase()], "role": "white_label"});
                let sent = self
                    .api_ok(tenant, Method::POST, "/api/v1/invitations", Some(body))
                    .await;
                sent["ids"][0].as_str().expect("invitation id").to_string()
            }
            "fresh_customer_invitation" => self.fresh_customer_invitation(tenant).await.0,
            "fresh_invitation_token" => self.fresh_invitation_token(tenant).await,
            "fresh_wl_membership" => self.fresh_member(tenant, None).await.0,
            "fresh_customer_membership" => {
                self.fresh_member(tenant, Some(&tenant.customer)).await.0
            }
            "fresh_reset_token" => self.fresh_reset_token(tenant).await,
            "fresh_account_key" => self.fresh_account_key(tenant, "standard_user").await.0,
            "fresh_number" => self.assigned_number(tenant).await,
            "fresh_pool_number" => self.pool_number(tenant).await,
            "fresh_port_order" => self.port_order(tenant, "draft").await,
            "fresh_submitted_port_order" => self.port_order(tenant, "submitted").await,
            "fresh_scheduled_port_order" => self.port_order(tenant, "scheduled").await,
            other => {
                let placeholder = other.strip_prefix("fresh_");
                let kind = PBX_KINDS
                    .iter()
                    .find(|k| Some(k.placeholder) == placeholder)?;
                self.pbx_object(tenant, kind).await
            }
        };
        Some(value)
    }

    /// Returns the value of a placeholder for a request sent for `tenant`, or `None` for text
    /// that only looks like one, such as `<p>`.
    async fn placeholder(&self, name: &str, tenant: &Tenant) -> Option<String> {
        let value = match name {
            "wl" => tenant.id.to_string(),
            "customer" => tenant.customer.clone(),
            "pending" => tenant.pending.clone(),
            "plan" => tenant.plan.clone(),
            "payment" => tenant.payment.clone(),
            "outbox" => tenant.outbox.clone(),
            "activation_token" => tenant.activation_token.clone(),
            "invitation_token" => tenant.invitation_token.clone(),
            "reset_token" => tenant.reset_token.clone(),
            "number" => tenant.number.clone(),
            "policy_version" => self.policy_version(tenant).await,
            kind if tenant.pbx_objects.contains_key(kind) => tenant.pbx_objects[kind].clone(),
            "fresh_email" => format!("visitor{}@example.test", self.next()),
            "fresh_name" => format!("Visitor {}", self.next()),
            "fresh_short_number" => self.short_number(),
            "fresh_phone_number" => self.phone_number(),
            "std_email" => self.standard_user_email.clone(),
            "password" => PASSWORD.to_string(),
            other => return self.fresh(other, tenant).await,
        };
        Some(value)
    }

    /// Replaces the placeholders in `text`. One name keeps one value within a request.
    async fn fill(
        &self,
        text: &str,
        tenant: &Tenant,
        values: &mut HashMap<String, String>,
    ) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('<') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('>') else {
                rest = &rest[start..];
                break;
            };
            let name = &after[..end];
            let value = match values.get(name) {
                Some(value) => Some(value.clone()),
                None => self.placeholder(name, tenant).await,
            };
            match value {
                Some(value) => {
                    values.insert(name.to_string(), value.clone());
                    out.push_str(&value);
                }
                None => out.push_str(&rest[start..start + end + 2]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Signs in through the portal's form on `host`, as a browser would.
    async fn sign_in(&self, host: &str, email: &str) -> Session {
        let page = self
            .client
            .get(self.url(host, "/sign-in"))
            .send()
            .await
            .expect("sign-in page");
        let csrf = set_cookie(page.headers(), "tandem_csrf").expect("CSRF cookie");
        let form = [
            ("_csrf", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/"),
        ];
        let response = self
            .client
            .post(self.url(host, "/sign-in"))
            .header(COOKIE, format!("tandem_csrf={csrf}"))
            .form(&form)
            .send()
            .await
            .expect("sign-in sent");
        assert_eq!(
            response.status().as_u16(),
            303,
            "{email} signs in on {host}"
        );
        let token = set_cookie(response.headers(), "tandem_session").expect("session cookie");
        self.session(host, token).await
    }

    /// Reads a session's CSRF token from its profile page.
    async fn session(&self, host: &str, token: String) -> Session {
        let page = self
            .client
            .get(self.url(host, "/profile"))
            .header(COOKIE, format!("tandem_session={token}"))
            .send()
            .await
            .expect("profile page")
            .text()
            .await
            .expect("profile page body");
        Session {
            csrf: csrf_field(&page),
            token,
        }
    }

    /// Adds the customer members and signs in every caller.
    async fn sign_in_callers(&self) -> Vec<Caller> {
        let harbour = &self.tenants[0];
        let southern = &self.tenants[1];
        let marker = harbour.marker.to_lowercase();

        // The Account Administrator joins through an invitation accepted on the portal.
        let owner = format!("owner.admin@{marker}.example");
        let body = json!({"emails": [owner], "role": "account_administrator",
                          "account_id": harbour.customer});
        self.api_ok(harbour, Method::POST, "/api/v1/invitations", Some(body))
            .await;
        let token = self.mailed_token(&owner, "/invitations/").await;
        let accepted = self
            .client
            .post(self.url(&harbour.host, &format!("/invitations/{token}")))
            .header(COOKIE, format!("tandem_csrf={DOUBLE_SUBMIT_TOKEN}"))
            .form(&[
                ("_csrf", DOUBLE_SUBMIT_TOKEN),
                ("name", "Quokka Owner"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("invitation accepted");
        assert_eq!(accepted.status().as_u16(), 303, "invitation accepted");
        let owner_token = set_cookie(accepted.headers(), "tandem_session").expect("session");
        let owner_session = self.session(&harbour.host, owner_token).await;

        // The Tech and the Standard User are added by the white label and set their password
        // through the link mailed to them.
        let mut members = Vec::new();
        for (role, label) in [("tech", "Tech"), ("standard_user", "Standard")] {
            let email = format!("{role}@{marker}.example");
            let body = json!({"name": format!("Quokka {label}"), "email": email, "role": role,
                              "account_id": harbour.customer});
            self.api_ok(harbour, Method::POST, "/api/v1/users", Some(body))
                .await;
            let token = self.mailed_token(&email, "/reset-password/").await;
            self.app
                .reset_password(&token, PASSWORD)
                .await
                .expect("password set");
            let session = self.sign_in(&harbour.host, &email).await;
            members.push((email, session));
        }
        let (standard_email, standard_session) = members.pop().expect("standard user");
        let (tech_email, tech_session) = members.pop().expect("tech");

        let session_caller =
            |kind, home: usize, host: &str, email: &str, session: Session| Caller {
                kind,
                home,
                host: host.to_string(),
                email: Some(email.to_string()),
                session: Some(session),
                api_key: None,
            };
        let key_caller = |kind, home: usize, tenant: &Tenant, key: &str| Caller {
            kind,
            home,
            host: tenant.host.clone(),
            email: None,
            session: None,
            api_key: Some(key.to_string()),
        };
        let (_, tech_key) = self.fresh_account_key(harbour, "tech").await;
        vec![
            Caller {
                kind: CallerKind::Anonymous,
                home: 0,
                host: harbour.host.clone(),
                email: None,
                session: None,
                api_key: None,
            },
            session_caller(
                CallerKind::PlatformOnPlatformHost,
                0,
                PLATFORM_HOST,
                PLATFORM_EMAIL,
                self.sign_in(PLATFORM_HOST, PLATFORM_EMAIL).await,
            ),
            session_caller(
                CallerKind::PlatformOnWhiteLabelHost,
                0,
                &harbour.host,
                PLATFORM_EMAIL,
                self.sign_in(&harbour.host, PLATFORM_EMAIL).await,
            ),
            session_caller(
                CallerKind::WhiteLabelSession,
                0,
                &harbour.host,
                &harbour.admin_email,
                self.sign_in(&harbour.host, &harbour.admin_email).await,
            ),
            key_caller(CallerKind::WhiteLabelKey, 0, harbour, &harbour.api_key),
            session_caller(
                CallerKind::AccountAdministrator,
                0,
                &harbour.host,
                &owner,
                owner_session,
            ),
            session_caller(
                CallerKind::Tech,
                0,
                &harbour.host,
                &tech_email,
                tech_session,
            ),
            session_caller(
                CallerKind::StandardUser,
                0,
                &harbour.host,
                &standard_email,
                standard_session,
            ),
            session_caller(
                CallerKind::OtherWhiteLabelSession,
                1,
                &southern.host,
                &southern.admin_email,
                self.sign_in(&southern.host, &southern.admin_email).await,
            ),
            key_caller(
                CallerKind::OtherWhiteLabelKey,
                1,
                southern,
                &southern.api_key,
            ),
            key_caller(
                CallerKind::AccountAdministratorKey,
                0,
                harbour,
                &harbour.account_key,
            ),
            key_caller(CallerKind::TechKey, 0, harbour, &tech_key),
        ]
    }

    fn caller(&self, kind: CallerKind) -> &Caller {
        self.callers
            .iter()
            .find(|caller| caller.kind == kind)
            .expect("every kind of caller exists")
    }

    /// Returns the session a row is sent with: the caller's own, or a new one of the same user
    /// for rows that end their session.
    async fn session_for(&self, case: &Case, caller: &Caller) -> Option<Session> {
        match (&caller.session, &caller.email) {
            (Some(_), Some(email)) if case.fresh_session => {
                let fresh = self
                    .app
                    .sign_in(email, PASSWORD, None)
                    .await
                    .expect("fresh session");
                Some(Session {
                    token: fresh.token,
                    csrf: fresh.csrf_token,
                })
            }
            (session, _) => session.clone(),
        }
    }

    /// Sends one row's request as `caller`, for the objects of `tenant`.
    async fn send(&self, case: &Case, caller: &Caller, tenant: &Tenant, csrf: Csrf) -> Outcome {
        let mut values = HashMap::new();
        let path = self.fill(case.path, tenant, &mut values).await;
        let method = match case.method {
            "ANY" => Method::GET,
            other => Method::from_bytes(other.as_bytes()).expect("HTTP method"),
        };
        let session = self.session_for(case, caller).await;

        let mut request = self
            .client
            .request(method.clone(), self.url(&caller.host, &path));
        let mut cookies = Vec::new();
        if let Some(session) = &session {
            cookies.push(format!("tandem_session={}", session.token));
        }
        if let Some(key) = &caller.api_key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }

        let send_csrf = csrf == Csrf::Send;
        // A portal form without fields still carries its CSRF token.
        let body = match case.body {
            Body::Empty if method != Method::GET && !path.starts_with("/api/") => Body::Form(&[]),
            body => body,
        };
        match body {
            Body::Empty => {}
            Body::Form(fields) => {
                let mut pairs = Vec::new();
                if send_csrf && matches!(case.access, Access::Public) {
                    cookies.push(format!("tandem_csrf={DOUBLE_SUBMIT_TOKEN}"));
                    pairs.push(("_csrf".to_string(), DOUBLE_SUBMIT_TOKEN.to_string()));
                } else if let (true, Some(session)) = (send_csrf, &session) {
                    pairs.push(("_csrf".to_string(), session.csrf.clone()));
                }
                for (name, value) in fields {
                    pairs.push((
                        name.to_string(),
                        self.fill(value, tenant, &mut values).await,
                    ));
                }
                let encoded = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&pairs)
                    .finish();
                request = request
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(encoded);
            }
            Body::Json(text) | Body::Raw(text) => {
                let text = self.fill(text, tenant, &mut values).await;
                request = request.header(CONTENT_TYPE, "application/json").body(text);
            }
            Body::Png => {
                request = request.header(CONTENT_TYPE, "image/png").body(PNG);
            }
            Body::LogoUpload => {
                let token = match (&session, send_csrf) {
                    (Some(session), true) => Some(session.csrf.as_str()),
                    _ => None,
                };
                let (content_type, body) = logo_upload(token);
                request = request.header(CONTENT_TYPE, content_type).body(body);
            }
        }

        if let (true, Some(session)) = (send_csrf, &session) {
            if path.starts_with("/api/") && method != Method::GET {
                request = request.header("x-csrf-token", &session.csrf);
            }
        }
        if let Some(version) = case.if_match {
            request = request.header(IF_MATCH, format!("\"{version}\""));
        }
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies.join("; "));
        }

        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.unwrap_or_default();
        Outcome {
            status,
            location,
            body,
        }
    }

    /// Lower-case text that must not appear in `caller`'s response to `case`.
    fn forbidden_text(&self, case: &Case, caller: &Caller) -> Vec<String> {
        let platform_admin = matches!(
            caller.kind,
            CallerKind::PlatformOnPlatformHost | CallerKind::PlatformOnWhiteLabelHost
        );
        // The platform's own portal lists every white label.
        if caller.kind == CallerKind::PlatformOnPlatformHost
            || (platform_admin && case.is_platform_route())
        {
            return Vec::new();
        }
        let own = &self.tenants[caller.home];
        let mut text = self.tenants[1 - caller.home].own_text();
        let token_page = matches!(case.access, Access::Public);
        if CUSTOMER_MEMBERS.contains(&caller.kind) && !token_page {
            text.push(format!("{} sibling", own.marker.to_lowercase()));
        }
        if caller.kind == CallerKind::Anonymous && !token_page {
            text.push(format!("{} managed", own.marker.to_lowercase()));
        }
        text
    }

    /// Sends one row's request and describes every way its outcome differs from the row.
    async fn check(&self, case: &Case, caller: &Caller, objects: Objects) -> Result<(), String> {
        let tenant = match objects {
            Objects::Own => &self.tenants[caller.home],
            Objects::Other => &self.tenants[1 - caller.home],
        };
        let outcome = self.send(case, caller, tenant, Csrf::Send).await;
        let expected = case.expected(caller.kind, objects);
        let mut problems = Vec::new();
        if !expected.matches(&outcome) {
            problems.push(format!("expected {expected}, got {outcome}"));
        }
        let body = outcome.body.to_lowercase();
        for text in self.forbidden_text(case, caller) {
            if body.contains(&text) {
                problems.push(format!("the response ({}) shows '{text}'", outcome.status));
            }
        }
        for (kind, text) in &case.hidden {
            if *kind == caller.kind && outcome.body.contains(text) {
                problems.push(format!("the response ({}) shows '{text}'", outcome.status));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let known = case
            .bug
            .map(|note| format!(" [known: {note}]"))
            .unwrap_or_default();
        Err(format!(
            "{:?} {} {} on {} objects ({} {}): {}{known}",
            caller.kind,
            case.method,
            case.route,
            tenant.name,
            case.method,
            case.path,
            problems.join("; ")
        ))
    }
}

/// Reads a cookie's value from a response's `Set-Cookie` headers.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Reads the hidden CSRF field of a page.
fn csrf_field(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap_or("").to_string()
}

/// Builds a multipart body for the logo form: the CSRF token when given, and [`PNG`].
fn logo_upload(csrf: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "authorization-test-boundary";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; \
             filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Lists the names of the `<placeholders>` in `text`, and of anything that looks like one.
fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            break;
        };
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names
}

// ---------------------------------------------------------------------------------------------
// Route discovery
// ---------------------------------------------------------------------------------------------

const ROUTER_METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "any",
];

/// Lists the `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// Collects `(METHOD, path)` from every `.route("PATH", …)` call in the `.rs` files under
/// `dir`, with the methods of the handlers chained in the call (`get(…).post(…)`, `any(…)`).
/// Returns the routes and a description of each call the scan cannot read.
fn scan_routes(dir: &Path) -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    files.sort();
    let mut routes = BTreeSet::new();
    let mut unreadable = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        let source = file.display();
        // Routers mounted under a prefix would need the prefix added to their paths.
        for unsupported in [".nest(", ".nest_service(", ".route_service("] {
            if text.contains(unsupported) {
                unreadable.push(format!(
                    "{source} calls {unsupported}…), which this scan cannot read"
                ));
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            let args = rest[at + ".route(".len()..].trim_start();
            rest = &rest[at + ".route(".len()..];
            let Some(literal) = args.strip_prefix('"') else {
                unreadable.push(format!(
                    "{source}: a .route( call whose path is no string literal"
                ));
                continue;
            };
            let Some(end) = literal.find('"') else {
                unreadable.push(format!("{source}: an unterminated route path"));
                continue;
            };
            let path = &literal[..end];
            let methods = chained_methods(&literal[end + 1..]);
            if methods.is_empty() {
                unreadable.push(format!("{source}: no method handler found for {path}"));
            }
            for method in methods {
                routes.insert((method.to_uppercase(), path.to_string()));
            }
        }
    }
    (routes, unreadable)
}

/// Lists the router methods called at the top level of a `.route(` call's remaining
/// arguments, which end at the call's closing parenthesis.
fn chained_methods(args: &str) -> Vec<String> {
    let bytes = args.as_bytes();
    let mut methods = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let ident = &args[start..i];
                if depth == 0 && bytes.get(i) == Some(&b'(') && ROUTER_METHODS.contains(&ident) {
                    methods.push(ident.to_string());
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    methods
}

/// Reads `(METHOD, path)` of every operation in the server's OpenAPI document.
async fn openapi_routes(client: &Client, url: &str) -> BTreeSet<(String, String)> {
    let document: Value = client
        .get(url)
        .send()
        .await
        .expect("OpenAPI document")
        .json()
        .await
        .expect("OpenAPI JSON");
    let paths = document["paths"].as_object().expect("OpenAPI paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_route_has_a_table_entry() {
    let (_app, server, client) = start_server().await;
    let web_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let (source_routes, unreadable) = scan_routes(&web_src);
    let url = format!(
        "http://{PLATFORM_HOST}:{}/api/v1/openapi.json",
        server.address.port()
    );
    let api_routes = openapi_routes(&client, &url).await;
    server.abort();
    let listed: BTreeSet<(String, String)> = table()
        .iter()
        .map(|case| (case.method.to_string(), case.route.to_string()))
        .collect();
    let served: BTreeSet<(String, String)> = source_routes.union(&api_routes).cloned().collect();

    let missing: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();

    assert!(
        unreadable.is_empty(),
        "the route scan cannot read: {unreadable:#?}"
    );
    assert!(
        source_routes.len() > 40,
        "only {} routes found under {}",
        source_routes.len(),
        web_src.display()
    );
    assert!(
        api_routes.len() > 20,
        "only {} API routes",
        api_routes.len()
    );
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization table: {missing:#?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes the server does not serve: {stale:#?}"
    );
}

#[tokio::test]
async fn every_route_as_every_caller() {
    let world = World::start().await;
    let mut cases = table();
    cases.sort_by_key(|case| case.grants_membership);
    let routes: BTreeSet<(&str, &str)> = cases.iter().map(|c| (c.method, c.route)).collect();

    let mut failures = Vec::new();
    let mut requests = 0;
    for case in &cases {
        for caller in &world.callers {
            for objects in case.objects() {
                requests += 1;
                if let Err(failure) = world.check(case, caller, objects).await {
                    failures.push(failure);
                }
            }
        }
    }

    println!(
        "authorization table: {} routes in {} rows, {} callers, {requests} requests",
        routes.len(),
        cases.len(),
        world.callers.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {requests} requests broke the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn forms_without_csrf_token_are_rejected() {
    use Access::*;
    use CallerKind::*;
    let world = World::start().await;
    // One form of each family, each sent by a caller its guard lets through.
    let families = [
        (
            WhiteLabelSession,
            at("POST", "/plans", WhiteLabelPortal).form(PLAN_FORM),
        ),
        (
            PlatformOnPlatformHost,
            case(
                "POST",
                "/white-labels/{id}/credit-limit",
                "/white-labels/<wl>/credit-limit",
                PlatformPortal,
            )
            .form(&[("credit_limit", "0.00")]),
        ),
        (
            AccountAdministrator,
            case(
                "POST",
                "/account/team/{action}",
                "/account/team/invite",
                AccountTeamPortal,
            )
            .form(&[("emails", "<fresh_email>"), ("role", "standard_user")]),
        ),
        (
            AccountAdministrator,
            at("POST", "/account/switch", AccountPortal).form(&[("account_id", "<customer>")]),
        ),
        (
            Tech,
            at("POST", "/profile", Session).form(&[("name", "Profile Name")]),
        ),
        (StandardUser, at("POST", "/sign-out", Session).form(&[])),
        (
            WhiteLabelSession,
            at("POST", "/settings/logo", WhiteLabelPortal).body(Body::LogoUpload),
        ),
        (
            Anonymous,
            at("POST", "/sign-in", Public)
                .form(&[("email", "<std_email>"), ("password", "<password>")]),
        ),
        (
            Anonymous,
            at("POST", "/forgot-password", Public).form(&[("email", "<fresh_email>")]),
        ),
        (
            Anonymous,
            case(
                "POST",
                "/invitations/{token}",
                "/invitations/<fresh_invitation_token>",
                Public,
            )
            .form(&[("name", "<fresh_name>"), ("password", "<password>")]),
        ),
        (
            Anonymous,
            case(
                "POST",
                "/reset-password/{token}",
                "/reset-password/<fresh_reset_token>",
                Public,
            )
            .form(&[("password", "a brand new password")]),
        ),
        (
            Anonymous,
            case(
                "POST",
                "/activate/{token}",
                "/activate/<fresh_activation_token>",
                Public,
            )
            .form(ACTIVATION_FORM),
        ),
        (
            Anonymous,
            case(
                "POST",
                "/pay/test/{payment_id}",
                "/pay/test/<fresh_payment>",
                Public,
            )
            .form(&[("decision", "approve")]),
        ),
        (
            WhiteLabelSession,
            at("POST", "/api/v1/plans", WhiteLabelApi).json(PLAN_JSON),
        ),
        (
            AccountAdministrator,
            at("POST", "/api/v1/invitations", TeamApi)
                .json(r#"{"emails": ["<fresh_email>"], "role": "tech"}"#),
        ),
    ];
    let mut failures = Vec::new();
    for (kind, case) in &families {
        let caller = world.caller(*kind);
        let tenant = &world.tenants[caller.home];
        let outcome = world.send(case, caller, tenant, Csrf::Omit).await;
        if outcome.status != 403 {
            failures.push(format!(
                "{kind:?} {} {} without a CSRF token: expected 403, got {outcome}",
                case.method, case.path
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A reset requested on one white label's host must not mail a link for a login that is not
/// that white label's: another white label's administrator, or a Platform Administrator. The
/// platform's forgot-password page states that Platform Administrators reset from the server's
/// shell. The mail is rendered from the requesting white label's own template.
#[tokio::test]
async fn password_reset_mail_stays_within_white_label() {
    let (app, server, client) = start_server().await;
    let harbour = create_white_label(&app, "harbour", "0").await;
    let southern = create_white_label(&app, "southern", "0").await;
    let base = format!("http://{}:{}", harbour.host, server.address.port());

    let others = [southern.admin_email.as_str(), PLATFORM_EMAIL];
    request_resets(&app, &client, &base, &others, &harbour.admin_email).await;
    let (own, _) = reset_mails(&app, &harbour.admin_email).await;
    let (foreign, _) = reset_mails(&app, &southern.admin_email).await;
    let (platform, _) = reset_mails(&app, PLATFORM_EMAIL).await;
    server.abort();

    assert_eq!(own, 1, "the white label's own administrator gets a link");
    assert_eq!(
        foreign, 0,
        "harbour's host mailed a reset link to southern's administrator"
    );
    assert_eq!(
        platform, 0,
        "harbour's host mailed a reset link to the Platform Administrator"
    );
}

/// Requests a password reset on the portal at `base` for each of `emails` and then for
/// `control`, as an anonymous visitor, and waits until the reset mail to `control` is queued.
async fn request_resets(app: &App, client: &Client, base: &str, emails: &[&str], control: &str) {
    for email in emails.iter().chain([&control]) {
        let response = client
            .post(format!("{base}/forgot-password"))
            .header(COOKIE, format!("tandem_csrf={DOUBLE_SUBMIT_TOKEN}"))
            .form(&[("_csrf", DOUBLE_SUBMIT_TOKEN), ("email", email)])
            .send()
            .await
            .expect("reset requested");
        assert_eq!(response.status().as_u16(), 200, "reset for {email}");
    }
    // The reset work runs after the response is sent, each request in a task of its own. A task
    // that sends nothing leaves no trace, so the wait goes on one second past the control mail.
    // NOTE: a task delayed by more than that second would queue its mail after the check.
    for _ in 0..100 {
        if reset_mails(app, control).await.0 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The Host header decides which portal serves a request. A white label that adds the platform's own host to
/// its settings takes over the platform's sign-in page, where Platform Administrators type
/// their password.
#[tokio::test]
async fn white_label_cannot_claim_platform_host() {
    let (app, server, client) = start_server().await;
    let harbour = create_white_label(&app, "harbour", "0").await;
    let port = server.address.port();
    let api = format!("http://{}:{port}/api/v1/white-label", harbour.host);
    let current: Value = client
        .get(&api)
        .bearer_auth(&harbour.api_key)
        .send()
        .await
        .expect("white label read")
        .json()
        .await
        .expect("white label JSON");
    let mut settings = current.clone();
    settings["hosts"] = json!([harbour.host, PLATFORM_HOST]);
    settings["tax_rate_percent"] = json!("15");

    let claimed = client
        .put(&api)
        .bearer_auth(&harbour.api_key)
        .header(IF_MATCH, format!("\"{}\"", current["version"]))
        .json(&settings)
        .send()
        .await
        .expect("settings sent");
    let status = claimed.status().as_u16();
    let body = claimed.text().await.unwrap_or_default();
    let platform_sign_in = client
        .get(format!("http://{PLATFORM_HOST}:{port}/sign-in"))
        .send()
        .await
        .expect("platform sign-in page")
        .text()
        .await
        .expect("sign-in page body");
    server.abort();

    assert!(
        matches!(status, 403 | 409 | 422),
        "a white label claimed the platform's host {PLATFORM_HOST}: {status} {body}"
    );
    assert!(
        !platform_sign_in.contains("harbour Telecom"),
        "the platform's sign-in page shows harbour's brand"
    );
}

/// Counts the password-reset mails queued to `recipient`, and returns the text of the newest.
async fn reset_mails(app: &App, recipient: &str) -> (i64, String) {
    let mut conn = app.store().conn().await.expect("database connection");
    let texts: Vec<String> = sqlx::query_scalar(
        "SELECT body_text FROM outbox WHERE recipient = $1 AND topic = 'password_reset' \
         ORDER BY created_us DESC, id DESC",
    )
    .bind(recipient)
    .fetch_all(&mut *conn)
    .await
    .expect("outbox rows");
    (
        texts.len() as i64,
        texts.first().cloned().unwrap_or_default(),
    )
}

/// A white label can attach any existing login to its own team without the person's consent,
/// and its reset mail is rendered from its own template. So a reset requested on its host must
/// not mail a link for a login that belongs elsewhere, such as another white label's
/// administrator or the Platform Administrator. The template can carry the link, and with it
/// the login, to the white label's own server.
#[tokio::test]
async fn reset_mail_skips_logins_attached_without_consent() {
    let world = World::start().await;
    let harbour = &world.tenants[0];
    let southern = &world.tenants[1];
    let admin = world
        .caller(CallerKind::WhiteLabelSession)
        .session
        .clone()
        .expect("session");
    let template = [
        ("_csrf", admin.csrf.as_str()),
        ("action", "save"),
        ("subject", "Reset your password"),
        (
            "body_html",
            "<p>Harbour-controlled: <a href=\"{{ reset_url }}\">reset</a></p>",
        ),
        ("body_text", "Harbour-controlled: {{ reset_url }}"),
    ];
    let saved = world
        .client
        .post(world.url(&harbour.host, "/email-templates/password_reset"))
        .header(COOKIE, format!("tandem_session={}", admin.token))
        .form(&template)
        .send()
        .await
        .expect("template saved");
    assert_eq!(
        saved.status().as_u16(),
        303,
        "harbour saves its reset template"
    );
    for email in [southern.admin_email.as_str(), PLATFORM_EMAIL] {
        let body = json!({"name": "Attached Login", "email": email, "role": "white_label"});
        let added = world
            .api_ok(harbour, Method::POST, "/api/v1/users", Some(body))
            .await;
        assert_eq!(added["existing_user"], true, "{email} already had a login");
    }

    let base = world.url(&harbour.host, "");
    let others = [southern.admin_email.as_str(), PLATFORM_EMAIL];
    request_resets(
        &world.app,
        &world.client,
        &base,
        &others,
        &harbour.admin_email,
    )
    .await;
    let (own, _) = reset_mails(&world.app, &harbour.admin_email).await;
    let (foreign, foreign_text) = reset_mails(&world.app, &southern.admin_email).await;
    let (platform, platform_text) = reset_mails(&world.app, PLATFORM_EMAIL).await;

    assert_eq!(own, 1, "harbour's own administrator gets a link");
    assert_eq!(
        foreign, 0,
        "harbour's host mailed southern's administrator a reset link in harbour's template: \
         {foreign_text}"
    );
    assert_eq!(
        platform, 0,
        "harbour's host mailed the Platform Administrator a reset link in harbour's template: \
         {platform_text}"
    );
}
