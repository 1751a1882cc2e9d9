//! Demo data: a platform administrator, a New Zealand white label with plans and a funded
//! balance, its administrator and an API key, a second, Australian white label, so that
//! tenant isolation can be seen, and a few hundred New Zealand and Australian numbers in the
//! inventory, and a managed account whose extension 101 a softphone can register with.
//! Running it again reuses what exists and issues fresh passwords and a fresh API key.

use anyhow::Context;
use tandem_app::access::{PlatformAdmin, WhiteLabelAdmin};
use tandem_app::customers::{Creation, CustomerInput};
use tandem_app::pbx::ObjectInput;
use tandem_app::plans::PlanInput;
use tandem_app::sip::AccountSipInput;
use tandem_app::white_labels::WhiteLabelInput;
use tandem_app::{App, AppError};
use tandem_domain::pbx::ObjectKind;
use tandem_domain::{LedgerKind, Role};
use tandem_store::white_labels::WhiteLabelRow;

/// The demo white label's portal host name (without the port).
pub const DEMO_HOST: &str = "harbour.localhost";
/// The second white label's host name.
pub const SECOND_HOST: &str = "southern.localhost";
/// The Platform Administrator's email.
pub const PLATFORM_ADMIN_EMAIL: &str = "admin@tandem.example";
/// The demo white label's administrator.
pub const WHITE_LABEL_ADMIN_EMAIL: &str = "admin@harbour.example";

/// Number ranges of the demo inventory: 250 New Zealand numbers (Auckland and Wellington)
/// and 150 Australian numbers (Sydney and Melbourne).
const DEMO_RANGES: [(&str, &str, &str); 4] = [
    ("NZ", "09 400 1000", "09 400 1199"),
    ("NZ", "04 800 2000", "04 800 2049"),
    ("AU", "02 8000 1000", "02 8000 1099"),
    ("AU", "03 9000 2000", "03 9000 2049"),
];

/// Loads the demo inventory; numbers already loaded are left as they are.
async fn load_numbers(app: &App, platform: &PlatformAdmin) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for (country, from, to) in DEMO_RANGES {
        let country = tandem_domain::Country::parse(country).map_err(anyhow::Error::msg)?;
        for number in tandem_app::numbers::expand_range(from, to, country)? {
            lines.push(tandem_app::numbers::NumberLine {
                line: lines.len() + 1,
                number,
                country: country.as_str().to_owned(),
            });
        }
    }
    app.load_numbers(platform, &lines, None, &|_| {}).await?;
    Ok(())
}

/// How to sign in to the demo.
#[derive(Debug, Clone)]
pub struct DemoLogins {
    pub white_label: WhiteLabelRow,
    pub platform_admin_password: String,
    pub white_label_admin_password: String,
    pub api_key: String,
    pub sip_extension: SipExtension,
}

fn password() -> String {
    let token = tandem_app::auth::random_token();
    format!("demo-{}", &token[..16])
}

async fn ensure_white_label(
    app: &App,
    admin: &PlatformAdmin,
    host: &str,
    input: WhiteLabelInput,
) -> anyhow::Result<(WhiteLabelRow, bool)> {
    if let Some(existing) = app.white_label_for_host(host).await? {
        return Ok((existing, false));
    }
    Ok((app.create_white_label(admin, &input).await?, true))
}

async fn create_plan(app: &App, admin: &WhiteLabelAdmin, plan: [&str; 7]) -> anyhow::Result<()> {
    let [name, description, setup, monthly, included, extra, rental] = plan;
    let input = PlanInput {
        name: name.into(),
        description: description.into(),
        setup_fee: setup.into(),
        monthly_fee: monthly.into(),
        included_extensions: included.into(),
        extra_extension_fee: extra.into(),
        number_rental: rental.into(),
        min_opening_credit: "50.00".into(),
    };
    match app.create_plan(admin, &input).await {
        Ok(_) | Err(AppError::Conflict { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Creates (or reuses) the demo data and returns fresh sign-in details.
pub async fn seed(app: &App) -> anyhow::Result<DemoLogins> {
    let platform = PlatformAdmin::command_line();
    let platform_admin_password = password();
    app.ensure_user_with_role(
        PLATFORM_ADMIN_EMAIL,
        "Platform Administrator",
        &platform_admin_password,
        Role::PlatformAdministrator,
        None,
    )
    .await?;

    let (harbour, created) = ensure_white_label(
        app,
        &platform,
        DEMO_HOST,
        WhiteLabelInput {
            name: "Harbour Telecom".into(),
            hosts: DEMO_HOST.into(),
            country: "NZ".into(),
            currency: "NZD".into(),
            support_email: "support@harbour.example".into(),
            support_phone: Some("0800 123 456".into()),
            primary_colour: "#0b6e4f".into(),
            terms_url: Some("https://harbour.example/terms".into()),
            tax_name: "GST".into(),
            tax_rate_percent: "15".into(),
            show_prices_with_tax: true,
        },
    )
    .await?;
    let admin = platform.for_white_label(&harbour.id);
    if created {
        app.post_white_label_balance(
            &platform,
            &harbour.id,
            LedgerKind::TopUp,
            "10000.00",
            "Demo opening balance",
        )
        .await?;
    }
    for plan in [
        [
            "Starter",
            "Two extensions for a sole trader",
            "0.00",
            "19.00",
            "2",
            "6.00",
            "5.00",
        ],
        [
            "Business",
            "Ten extensions with ring groups and IVR menus",
            "49.00",
            "39.00",
            "10",
            "5.00",
            "5.00",
        ],
        [
            "Enterprise",
            "Fifty extensions and priority support",
            "199.00",
            "99.00",
            "50",
            "4.00",
            "4.00",
        ],
    ] {
        create_plan(app, &admin, plan).await?;
    }

    let white_label_admin_password = password();
    app.ensure_user_with_role(
        WHITE_LABEL_ADMIN_EMAIL,
        "Hana Whiterod",
        &white_label_admin_password,
        Role::WhiteLabel,
        Some(&harbour.id),
    )
    .await?;
    let api_key = app.create_api_key(&admin, "Demo web shop").await?;
    let gateway = tandem_app::payments::GatewayInput {
        kind: "test".into(),
        ..Default::default()
    };
    app.configure_gateway(&admin, &gateway).await?;

    let (southern, created) = ensure_white_label(
        app,
        &platform,
        SECOND_HOST,
        WhiteLabelInput {
            name: "Southern Cross Voice".into(),
            hosts: SECOND_HOST.into(),
            country: "AU".into(),
            currency: "AUD".into(),
            support_email: "help@southerncross.example".into(),
            support_phone: None,
            primary_colour: "#8a1c7c".into(),
            terms_url: None,
            tax_name: "GST".into(),
            tax_rate_percent: "10".into(),
            show_prices_with_tax: false,
        },
    )
    .await?;
    if created {
        app.post_white_label_balance(
            &platform,
            &southern.id,
            LedgerKind::TopUp,
            "2500.00",
            "Demo opening balance",
        )
        .await?;
        let southern_admin = platform.for_white_label(&southern.id);
        create_plan(
            app,
            &southern_admin,
            [
                "Office",
                "Five extensions",
                "29.00",
                "45.00",
                "5",
                "7.50",
                "6.00",
            ],
        )
        .await?;
    }

    load_numbers(app, &platform).await?;

    let sip_extension = ensure_sip_extension(app, &admin).await?;

    let white_label = app
        .white_label_for_host(DEMO_HOST)
        .await?
        .unwrap_or(harbour);
    Ok(DemoLogins {
        white_label,
        platform_admin_password,
        white_label_admin_password,
        api_key: api_key.secret,
        sip_extension,
    })
}

/// Legal name of the demo's managed account, which has the demo phone's extension.
pub const DEMO_ACCOUNT: &str = "Kauri Joinery Limited";

/// The SIP identity of the demo's extension 101, with a password set on every start.
#[derive(Debug, Clone)]
pub struct SipExtension {
    pub username: String,
    pub domain: String,
    pub password: String,
}

/// Creates (or reuses) a managed account with extension 101 in the SIP domain
/// `kauri-joinery.sip.harbour.localhost`, and sets a new password for it.
async fn ensure_sip_extension(app: &App, admin: &WhiteLabelAdmin) -> anyhow::Result<SipExtension> {
    let found = app
        .list_customers(admin, Some(DEMO_ACCOUNT), None, None, 1)
        .await?;
    let customer_id = match found.customers.first() {
        Some(customer) => customer.id.clone(),
        None => {
            let plans = app.list_plans(admin, false).await?;
            let plan = plans
                .iter()
                .find(|p| p.name == "Business")
                .context("the demo's Business plan is missing")?;
            let input: CustomerInput = serde_json::from_value(serde_json::json!({
                "mode": "white_label_managed",
                "plan_id": plan.id.to_string(),
                "business": {"legal_name": DEMO_ACCOUNT, "trading_name": "Kauri Joinery"},
                "contact": {"given_name": "Aroha", "family_name": "Ngata",
                            "email": "aroha@kauri.example", "phone": "021 123 4567"},
                "billing_address": {"line1": "12 Queen Street", "suburb": "Auckland Central",
                                    "city": "Auckland", "postcode": "1010", "country": "NZ"},
                "service_address": {"same_as_billing": true},
                "time_zone": "Pacific/Auckland"
            }))?;
            match app
                .create_customer(admin, &input, None, &|_| String::new())
                .await?
            {
                Creation::Created { customer, .. } => customer.id,
                Creation::Replayed { .. } => anyhow::bail!("the demo account was not created"),
            }
        }
    };
    let op = admin.account_operator(&customer_id);
    let label = AccountSipInput {
        label: Some("kauri-joinery".into()),
        sha256: None,
    };
    app.update_account_sip(&op, &label).await?;
    let extensions = app.pbx_objects(&op, Some(ObjectKind::Extension)).await?;
    let id = match extensions
        .iter()
        .find(|e| e.short_number.as_deref() == Some("101"))
    {
        Some(extension) => extension.id.clone(),
        None => {
            let input = ObjectInput {
                number: "101".into(),
                name: "Reception".into(),
                ..ObjectInput::default()
            };
            app.create_pbx_object(&op, ObjectKind::Extension, &input, false)
                .await?
                .object
                .id
        }
    };
    let password = app.reset_sip_password(&op, &id).await?;
    let sip = app.account_sip(&op).await?;
    Ok(SipExtension {
        username: "101".into(),
        domain: sip.domain,
        password,
    })
}
