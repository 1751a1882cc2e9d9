//! `tandem`: the white-label hosted PBX platform in one binary.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tandem::config::{Overrides, Settings};
use tandem::sip::SipService;
use tandem::{build_app, demo, open_store, Server};
use tandem_app::access::{PlatformAdmin, WhiteLabelAdmin};
use tandem_app::pbx_bulk::WeakPasswords;
use tandem_domain::Role;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "White-label hosted PBX platform: portal, API and workers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// TOML settings file; values in it are overridden by TANDEM__… environment variables.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder for the SQLite database and other local data [default: ./tandem-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal, the API and the background workers.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Print the effective settings (secrets redacted) and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Run the SIP service alone (the registrar phones register with), against the same
    /// database and settings as `serve`.
    Sip {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, UDP and TCP [default: 127.0.0.1:5060].
        #[arg(long, value_name = "ADDR")]
        sip_listen: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Create or reuse demo data, start the server and the SIP service, and print how to sign
    /// in and register a phone.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Address the SIP service listens on, UDP and TCP [default: 127.0.0.1:5060].
        #[arg(long, value_name = "ADDR")]
        sip_listen: Option<String>,
    },
    /// Administration from the server's own shell.
    Admin {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a Platform Administrator (or give an existing user the role and a new password).
    CreatePlatformAdmin {
        /// Their email address, used to sign in.
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long, default_value = "Platform Administrator")]
        name: String,
        /// Read the password from this environment variable instead of generating one.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// Create an API key for a white label and print it once.
    CreateApiKey {
        /// The white label: its id (wl_…) or one of its portal host names.
        #[arg(long)]
        white_label: String,
        /// A name to recognise the key by.
        #[arg(long, default_value = "API key")]
        name: String,
    },
    /// List the white labels with their ids and host names.
    ListWhiteLabels,
    /// Work with the platform's number inventory.
    Numbers {
        #[command(subcommand)]
        action: NumbersAction,
    },
    /// Work with the extensions of a customer account.
    Extensions {
        #[command(subcommand)]
        action: ExtensionsAction,
    },
}

#[derive(Subcommand)]
enum ExtensionsAction {
    /// Load extensions into one account in one transaction from a CSV file with the columns
    /// number, name and sip_password (header row optional; a blank password is generated and
    /// printed). Rows that fail their checks are reported and left out.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The white label: its id (wl_…) or one of its portal host names.
        #[arg(long)]
        white_label: String,
        /// The customer account: its id (cus_…) or its account number.
        #[arg(long)]
        customer: String,
        /// Accept SIP passwords that fail the strength rules (at least 10 characters with
        /// letters and digits, not containing the extension number), for phones moved from
        /// another platform with their passwords.
        #[arg(long)]
        allow_weak_passwords: bool,
    },
}

#[derive(Subcommand)]
enum NumbersAction {
    /// Load numbers from a CSV file with a `number` column and an optional `country` column
    /// (a file without a header row is read as one number per line). Numbers already in the
    /// inventory are reported and left as they are.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The country of numbers written in national form.
        #[arg(long, default_value = "NZ")]
        country: String,
        /// Put the numbers in this white label's pool (its id or a host name) instead of the
        /// platform's.
        #[arg(long)]
        white_label: Option<String>,
    },
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

fn load(common: &Common, listen: Option<String>) -> anyhow::Result<Settings> {
    load_with_sip(common, listen, None)
}

fn load_with_sip(
    common: &Common,
    listen: Option<String>,
    sip_listen: Option<String>,
) -> anyhow::Result<Settings> {
    let overrides = Overrides {
        listen,
        data_dir: common.data_dir.clone(),
        sip_listen,
    };
    Settings::load(common.config.as_deref(), &overrides)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            common,
            listen,
            print_config,
        } => {
            let settings = load(&common, listen)?;
            if print_config {
                print!("{}", settings.redacted_toml());
                return Ok(());
            }
            init_logging(&settings);
            let app = build_app(open_store(&settings).await?, &settings);
            let server = Server::start(app, &settings).await?;
            tracing::info!(address = %server.address, "tandem is serving");
            server.wait().await
        }
        Command::Sip { common, sip_listen } => {
            let settings = load_with_sip(&common, None, sip_listen)?;
            init_logging(&settings);
            let service = SipService::start(open_store(&settings).await?, &settings).await?;
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            tracing::info!("stopping the SIP service");
            service.stop().await;
            Ok(())
        }
        Command::Migrate { common } => {
            let settings = load(&common, None)?;
            init_logging(&settings);
            let store = open_store(&settings).await?;
            for version in store.applied_migrations().await? {
                println!("applied: {version}");
            }
            Ok(())
        }
        Command::Demo {
            common,
            listen,
            sip_listen,
        } => {
            let settings = load_with_sip(&common, listen, sip_listen)?;
            init_logging(&settings);
            let store = open_store(&settings).await?;
            let app = build_app(store.clone(), &settings);
            let logins = demo::seed(&app).await.context("creating the demo data")?;
            let sip = SipService::start(store, &settings).await?;
            let server = Server::start(app, &settings).await?;
            print_demo(&server, &settings, &logins, &sip);
            let served = server.wait().await;
            sip.stop().await;
            served
        }
        Command::Admin { common, action } => {
            let settings = load(&common, None)?;
            init_logging(&settings);
            let app = build_app(open_store(&settings).await?, &settings);
            admin(&app, action).await
        }
    }
}

fn print_demo(server: &Server, settings: &Settings, logins: &demo::DemoLogins, sip: &SipService) {
    let port = server.address.port();
    let data_dir = settings.data_dir.display();
    println!();
    println!("Tandem demo is running (data in {data_dir}). Stop it with Ctrl-C.");
    println!();
    println!("  Platform portal:            http://{}/", server.address);
    println!(
        "  White-label portal:         http://{}:{port}/   ({})",
        demo::DEMO_HOST,
        logins.white_label.name
    );
    println!("  White-label host name:      {}", demo::DEMO_HOST);
    println!();
    println!(
        "  Platform Administrator:     {} / {}",
        demo::PLATFORM_ADMIN_EMAIL,
        logins.platform_admin_password
    );
    println!(
        "  White-label administrator:  {} / {}",
        demo::WHITE_LABEL_ADMIN_EMAIL,
        logins.white_label_admin_password
    );
    println!("  White-label API key:        {}", logins.api_key);
    println!();
    println!(
        "  Try the API:  curl -H 'Authorization: Bearer {}' http://{}/api/v1/customers",
        logins.api_key, server.address
    );
    println!();
    if let Some(udp) = sip.udp {
        println!("  SIP registrar:              {udp} (UDP and TCP)");
    }
    let extension = &logins.sip_extension;
    println!(
        "SIP extension: sip:{}@{} password {}",
        extension.username, extension.domain, extension.password
    );
    println!();
}

/// Draws a progress bar on standard error: `[#####.....] 500 / 1000`.
fn progress_bar(done: usize, total: usize) {
    let width = 40;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    eprint!(
        "\r[{}{}] {done} / {total}",
        "#".repeat(filled),
        ".".repeat(width - filled)
    );
}

/// Finds a white label by id or by one of its host names.
async fn find_white_label(
    app: &tandem_app::App,
    platform: &PlatformAdmin,
    name: &str,
) -> anyhow::Result<tandem_store::white_labels::WhiteLabelRow> {
    Ok(match tandem_domain::WhiteLabelId::parse(name) {
        Ok(id) => app.white_label_by_id(platform, &id).await?,
        Err(_) => app
            .white_label_for_host(name)
            .await?
            .with_context(|| format!("no white label has the id or host name '{name}'"))?,
    })
}

/// Finds a customer account of a white label by id or by account number.
async fn find_customer(
    app: &tandem_app::App,
    admin: &WhiteLabelAdmin,
    name: &str,
) -> anyhow::Result<tandem_domain::CustomerId> {
    if let Ok(id) = tandem_domain::CustomerId::parse(name) {
        return Ok(app.customer(admin, &id).await?.id);
    }
    let digits: String = name.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    let page = app
        .list_customers(admin, Some(&digits), None, None, 100)
        .await?;
    page.customers
        .into_iter()
        .find(|c| c.account_number.replace(['-', ' '], "") == digits)
        .map(|c| c.id)
        .with_context(|| format!("no customer account has the id or account number '{name}'"))
}

async fn admin(app: &tandem_app::App, action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::CreatePlatformAdmin {
            email,
            name,
            password_env,
        } => {
            let (password, generated) = match password_env {
                Some(var) => (
                    std::env::var(&var)
                        .with_context(|| format!("reading the password from ${var}"))?,
                    false,
                ),
                None => (tandem_app::auth::random_token(), true),
            };
            app.ensure_user_with_role(&email, &name, &password, Role::PlatformAdministrator, None)
                .await?;
            println!("Platform Administrator {email} is ready.");
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(())
        }
        AdminAction::CreateApiKey { white_label, name } => {
            let platform = PlatformAdmin::command_line();
            let row = find_white_label(app, &platform, &white_label).await?;
            let key = app
                .create_api_key(&platform.for_white_label(&row.id), &name)
                .await?;
            println!("API key for {} (shown once): {}", row.name, key.secret);
            Ok(())
        }
        AdminAction::Numbers {
            action:
                NumbersAction::Import {
                    file,
                    country,
                    white_label,
                },
        } => {
            let platform = PlatformAdmin::command_line();
            let pool = match white_label {
                Some(name) => Some(find_white_label(app, &platform, &name).await?.id),
                None => None,
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let lines = tandem_app::numbers::parse_numbers_csv(&text, &country);
            let total = lines.len();
            let progress = move |done: usize| progress_bar(done, total);
            let report = app
                .load_numbers(&platform, &lines, pool.as_ref(), &progress)
                .await?;
            eprintln!();
            println!(
                "Loaded {}, {} duplicate, {} invalid, of {total} rows.",
                report.loaded,
                report.duplicates.len(),
                report.invalid.len()
            );
            for row in report.duplicates.iter().chain(&report.invalid) {
                println!("  line {}: {}: {}", row.line, row.input, row.reason);
            }
            Ok(())
        }
        AdminAction::Extensions {
            action:
                ExtensionsAction::Import {
                    file,
                    white_label,
                    customer,
                    allow_weak_passwords,
                },
        } => {
            let platform = PlatformAdmin::command_line();
            let row = find_white_label(app, &platform, &white_label).await?;
            let admin = platform.for_white_label(&row.id);
            let customer_id = find_customer(app, &admin, &customer).await?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let weak = if allow_weak_passwords {
                WeakPasswords::Accept(&platform)
            } else {
                WeakPasswords::Reject
            };
            let report = app
                .bulk_import_extensions(
                    &admin.account_operator(&customer_id),
                    &text,
                    weak,
                    &progress_bar,
                )
                .await?;
            eprintln!();
            println!(
                "Created {} extensions ({} with weak passwords accepted), rejected {} rows, \
                 charged {} (minor units, tax included).",
                report.created.len(),
                report.weak_passwords,
                report.rejected.len(),
                report.charged_minor
            );
            for row in report.created.iter().filter(|r| r.sip_password.is_some()) {
                let password = row.sip_password.as_deref().unwrap_or_default();
                println!(
                    "  line {}: {} generated password {password}",
                    row.line, row.number
                );
            }
            for row in &report.rejected {
                println!("  line {}: {}: {}", row.line, row.input, row.reason);
            }
            Ok(())
        }
        AdminAction::ListWhiteLabels => {
            for row in app
                .list_white_labels(&PlatformAdmin::command_line())
                .await?
            {
                println!("{}  {}  {}", row.id, row.name, row.hosts.join(", "));
            }
            Ok(())
        }
    }
}
