//! Demo data: a platform administrator, a New Zealand white label with plans and a funded
//! balance, its administrator and an API key, a second, Australian white label, so that
//! tenant isolation can be seen, and a few hundred New Zealand and Australian numbers in the
//! inventory. Running it again reuses what exists and issues fresh
//! passwords and a fresh API key.

use tandem_app::access::PlatformAdmin;
use tandem_app::plans::PlanInput;
use tandem_app::white_labels::WhiteLabelInput;
use tandem_app::{App, AppError};
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

async fn create_plan(
    app: &App,
    admin: &tandem_app::access::WhiteLabelAdmin,
    plan: [&str; 7],
) -> anyhow::Result<()> {
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

    let white_label = app
        .white_label_for_host(DEMO_HOST)
        .await?
        .unwrap_or(harbour);
    Ok(DemoLogins {
        white_label,
        platform_admin_password,
        white_label_admin_password,
        api_key: api_key.secret,
    })
}
