//! The data generator: fills a database with white labels, plans, customer accounts, their
//! extensions, numbers and ledger entries, through the same store functions the product uses.
//!
//! White labels and plans go through the use cases. The bulk rows go through
//! `tandem_store::{customers, pbx, numbers, ledger}` inside transactions of a few thousand
//! statements each, so every balance is the sum of its ledger entries as in production.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tandem_app::access::PlatformAdmin;
use tandem_app::plans::PlanInput;
use tandem_app::white_labels::WhiteLabelInput;
use tandem_app::App;
use tandem_domain::pbx::{ExtensionSettings, ObjectSettings};
use tandem_domain::{AccountNumber, CustomerId, LedgerKind, PbxObjectId, PlanId, WhiteLabelId};
use tandem_store::customers::{AddressRow, NewCustomer};
use tandem_store::ledger::{Account, NewEntry, Posting};
use tandem_store::numbers::NewNumber;
use tandem_store::pbx::NewObject;
use tandem_store::{Backend, Store};

/// The size of a generated platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub white_labels: usize,
    pub customers: usize,
    pub extensions: usize,
    pub numbers: usize,
    pub ledger_entries: usize,
    /// Extensions of the one large account, on top of the even share of the others.
    pub largest_account_extensions: usize,
}

impl Profile {
    /// The size of a large white-label platform.
    pub const FULL: Profile = Profile {
        name: "full",
        white_labels: 20,
        customers: 100_000,
        extensions: 1_000_000,
        numbers: 500_000,
        ledger_entries: 5_000_000,
        largest_account_extensions: 2_000,
    };
    /// A tenth of the full profile, for a smoke run in CI.
    pub const SMALL: Profile = Profile {
        name: "small",
        white_labels: 20,
        customers: 10_000,
        extensions: 100_000,
        numbers: 50_000,
        ledger_entries: 500_000,
        largest_account_extensions: 1_000,
    };
    /// A few hundred rows, for the test suite.
    pub const TINY: Profile = Profile {
        name: "tiny",
        white_labels: 2,
        customers: 200,
        extensions: 1_000,
        numbers: 400,
        ledger_entries: 2_000,
        largest_account_extensions: 50,
    };

    /// Parses `full`, `small` or `tiny`.
    pub fn parse(name: &str) -> anyhow::Result<Profile> {
        match name {
            "full" => Ok(Profile::FULL),
            "small" => Ok(Profile::SMALL),
            "tiny" => Ok(Profile::TINY),
            other => anyhow::bail!("unknown profile {other:?}: use full, small or tiny"),
        }
    }
}

/// A generated white label: its id, host name and plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedWhiteLabel {
    pub id: WhiteLabelId,
    pub host: String,
    pub country: &'static str,
    pub plans: Vec<(PlanId, String)>,
    /// The ids of its customers, for the measured (first) white label only. The load phases
    /// read no other white label's, and the ids would count towards the server's memory, which
    /// runs in the same process.
    pub customers: Vec<CustomerId>,
}

/// The generated white labels and largest account, from which the load phases pick targets.
#[derive(Debug)]
pub struct Generated {
    pub white_labels: Vec<GeneratedWhiteLabel>,
    /// The account with the most extensions.
    pub largest_account: (WhiteLabelId, CustomerId),
    pub rows: u64,
    pub elapsed: Duration,
}

const GIVEN_NAMES: &[&str] = &[
    "Aroha",
    "Mere",
    "Tama",
    "Wiremu",
    "Olivia",
    "Jack",
    "Charlotte",
    "Oliver",
    "Amelia",
    "Noah",
    "Isla",
    "Leo",
    "Mia",
    "Lucas",
    "Ruby",
    "Hemi",
    "Ngaio",
    "Priya",
    "Wei",
    "Sione",
];
const FAMILY_NAMES: &[&str] = &[
    "Ngata", "Smith", "Williams", "Brown", "Wilson", "Taylor", "Anderson", "Thomas", "Walker",
    "Harris", "Te Whata", "Patel", "Chen", "Nguyen", "Tuilagi", "Kaur", "Campbell", "Kelly",
];
const NAME_WORDS: &[&str] = &[
    "Kauri",
    "Harbour",
    "Southern",
    "Pacific",
    "Tasman",
    "Summit",
    "Coastal",
    "Totara",
    "Pohutukawa",
    "Wattle",
    "Outback",
    "Riverside",
    "Redwood",
    "Silverfern",
    "Kowhai",
    "Bluegum",
    "Matai",
    "Rimu",
    "Ironbark",
    "Jacaranda",
    "Aoraki",
    "Manuka",
    "Waratah",
    "Banksia",
];
const NAME_TRADES: &[&str] = &[
    "Plumbing",
    "Legal",
    "Dental",
    "Accounting",
    "Builders",
    "Logistics",
    "Motors",
    "Design",
    "Cafe",
    "Electrical",
    "Realty",
    "Physio",
    "Engineering",
    "Travel",
    "Veterinary",
    "Media",
];
const NAME_SUFFIXES: &[&str] = &["Limited", "Ltd", "Pty Ltd", "Group Limited", "Trust"];
const STREETS: &[&str] = &[
    "Queen Street",
    "Lambton Quay",
    "Colombo Street",
    "George Street",
    "Collins Street",
    "Victoria Street",
    "High Street",
    "Ponsonby Road",
    "King Street",
    "Hay Street",
];

/// Suburb, city, region, postcode and time zone of real places.
struct Place {
    suburb: &'static str,
    city: &'static str,
    region: Option<&'static str>,
    postcode: &'static str,
    zone: &'static str,
}

const NZ_PLACES: &[Place] = &[
    place(
        "Auckland Central",
        "Auckland",
        None,
        "1010",
        "Pacific/Auckland",
    ),
    place("Ponsonby", "Auckland", None, "1011", "Pacific/Auckland"),
    place("Te Aro", "Wellington", None, "6011", "Pacific/Auckland"),
    place(
        "Christchurch Central",
        "Christchurch",
        None,
        "8011",
        "Pacific/Auckland",
    ),
    place(
        "Hamilton Central",
        "Hamilton",
        None,
        "3204",
        "Pacific/Auckland",
    ),
    place(
        "Dunedin Central",
        "Dunedin",
        None,
        "9016",
        "Pacific/Auckland",
    ),
    place("Tauranga", "Tauranga", None, "3110", "Pacific/Auckland"),
];
const AU_PLACES: &[Place] = &[
    place("Sydney", "Sydney", Some("NSW"), "2000", "Australia/Sydney"),
    place(
        "Parramatta",
        "Sydney",
        Some("NSW"),
        "2150",
        "Australia/Sydney",
    ),
    place(
        "Melbourne",
        "Melbourne",
        Some("VIC"),
        "3000",
        "Australia/Melbourne",
    ),
    place(
        "Brisbane City",
        "Brisbane",
        Some("QLD"),
        "4000",
        "Australia/Brisbane",
    ),
    place("Perth", "Perth", Some("WA"), "6000", "Australia/Perth"),
    place(
        "Adelaide",
        "Adelaide",
        Some("SA"),
        "5000",
        "Australia/Adelaide",
    ),
    place("Hobart", "Hobart", Some("TAS"), "7000", "Australia/Hobart"),
    place(
        "Canberra",
        "Canberra",
        Some("ACT"),
        "2600",
        "Australia/Sydney",
    ),
];

const fn place(
    suburb: &'static str,
    city: &'static str,
    region: Option<&'static str>,
    postcode: &'static str,
    zone: &'static str,
) -> Place {
    Place {
        suburb,
        city,
        region,
        postcode,
        zone,
    }
}

/// Statuses and their share in percent.
const STATUSES: &[(&str, u32)] = &[
    ("active", 86),
    ("suspended", 5),
    ("pending_activation", 4),
    ("cancelled", 3),
    ("closed", 2),
];

/// Picks a name prefix to search for: the first three to five letters of a word that starts
/// generated names, in lower or title case.
pub fn search_prefix(rng: &mut impl Rng) -> String {
    let word = NAME_WORDS[rng.gen_range(0..NAME_WORDS.len())];
    let length = rng.gen_range(3..=5).min(word.len());
    let prefix = &word[..length];
    if rng.gen_bool(0.5) {
        prefix.to_lowercase()
    } else {
        prefix.to_string()
    }
}

/// Statements per transaction of the bulk phase.
const STATEMENTS_PER_TRANSACTION: usize = 4_000;

/// One microsecond-resolution year, the span that creation times are spread over.
const YEAR_US: i64 = 365 * 24 * 3600 * 1_000_000;

/// Fills the database with `profile`, printing progress to standard error.
pub async fn generate(app: &App, store: &Store, profile: Profile) -> anyhow::Result<Generated> {
    let started = Instant::now();
    let white_labels = create_white_labels(app, profile).await?;
    let now_us = jiff::Timestamp::now().as_microsecond();

    let per_white_label = split(profile.customers, profile.white_labels);
    let shares = Shares::of(profile);
    let rows = Arc::new(AtomicU64::new(0));
    let customers_done = Arc::new(AtomicU64::new(0));
    let progress = tokio::spawn(show_progress(
        customers_done.clone(),
        rows.clone(),
        profile.customers as u64,
    ));

    // SQLite admits one writer, so more tasks would only wait for its lock.
    let workers = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    };
    let queue: Vec<(usize, usize)> = per_white_label.iter().copied().enumerate().collect();
    let queue = Arc::new(std::sync::Mutex::new(queue));
    let white_labels = Arc::new(white_labels);
    let mut handles = Vec::new();
    for worker in 0..workers {
        let store = store.clone();
        let queue = queue.clone();
        let white_labels = white_labels.clone();
        let rows = rows.clone();
        let customers_done = customers_done.clone();
        handles.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let next = queue.lock().expect("queue lock").pop();
                let Some((index, count)) = next else { break };
                let mut rng = StdRng::seed_from_u64(0x7a_4de3 ^ index as u64);
                let white_label = &white_labels[index];
                let batch = Batch {
                    store: &store,
                    white_label,
                    shares,
                    now_us,
                    rows: &rows,
                    customers_done: &customers_done,
                    largest: index == 0,
                };
                let ids = batch.fill(&mut rng, index, count).await?;
                if index == 0 {
                    made.push((index, ids));
                }
            }
            anyhow::Ok((worker, made))
        }));
    }
    let mut white_labels = Arc::try_unwrap(white_labels).unwrap_or_else(|arc| (*arc).clone());
    let mut failure = None;
    for handle in handles {
        match handle.await.context("generator task panicked")? {
            Ok((_, made)) => {
                for (index, ids) in made {
                    white_labels[index].customers = ids;
                }
            }
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    progress.abort();
    eprintln!();
    if let Some(error) = failure {
        return Err(error);
    }
    settle(store).await?;
    let largest = (
        white_labels[0].id.clone(),
        white_labels[0].customers[0].clone(),
    );
    Ok(Generated {
        white_labels,
        largest_account: largest,
        rows: rows.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

/// Per-customer shares of the profile's extensions, numbers and ledger entries.
#[derive(Debug, Clone, Copy)]
struct Shares {
    extensions: usize,
    numbers: usize,
    ledger_entries: usize,
    largest_extensions: usize,
}

impl Shares {
    fn of(profile: Profile) -> Shares {
        let customers = profile.customers.max(1);
        Shares {
            extensions: profile.extensions / customers,
            numbers: profile.numbers / customers,
            ledger_entries: profile.ledger_entries / customers,
            largest_extensions: profile.largest_account_extensions,
        }
    }
}

/// Splits `total` into `parts` near-equal shares.
fn split(total: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect()
}

async fn create_white_labels(
    app: &App,
    profile: Profile,
) -> anyhow::Result<Vec<GeneratedWhiteLabel>> {
    let platform = PlatformAdmin::command_line();
    let mut made = Vec::new();
    for index in 0..profile.white_labels {
        let (country, currency) = if index % 3 == 2 {
            ("AU", "AUD")
        } else {
            ("NZ", "NZD")
        };
        let word = NAME_WORDS[index % NAME_WORDS.len()];
        let host = format!("wl{index}.bench.localhost");
        let white_label = app
            .create_white_label(
                &platform,
                &WhiteLabelInput {
                    name: format!("{word} Voice {index}"),
                    hosts: host.clone(),
                    country: country.into(),
                    currency: currency.into(),
                    support_email: format!("support@wl{index}.bench.example"),
                    primary_colour: "#0b6e4f".into(),
                    tax_name: "GST".into(),
                    tax_rate_percent: if country == "NZ" { "15" } else { "10" }.into(),
                    show_prices_with_tax: true,
                    ..WhiteLabelInput::default()
                },
            )
            .await
            .with_context(|| format!("creating white label {index}"))?;
        app.post_white_label_balance(
            &platform,
            &white_label.id,
            LedgerKind::TopUp,
            "1000000000.00",
            "opening funds",
        )
        .await
        .context("topping up a white label")?;
        let admin = platform.for_white_label(&white_label.id);
        let mut plans = Vec::new();
        for (name, setup, monthly, included) in [
            ("Starter", "0.00", "19.00", "3"),
            ("Business", "49.00", "39.00", "10"),
            ("Enterprise", "199.00", "149.00", "50"),
        ] {
            let plan = app
                .create_plan(
                    &admin,
                    &PlanInput {
                        name: name.into(),
                        description: format!("{included} extensions"),
                        setup_fee: setup.into(),
                        monthly_fee: monthly.into(),
                        included_extensions: included.into(),
                        extra_extension_fee: "5.00".into(),
                        number_rental: "5.00".into(),
                        min_opening_credit: "50.00".into(),
                    },
                )
                .await
                .context("creating a plan")?;
            plans.push((plan.id.clone(), currency.to_string()));
        }
        made.push(GeneratedWhiteLabel {
            id: white_label.id,
            host,
            country,
            plans,
            customers: Vec::new(),
        });
    }
    Ok(made)
}

/// The customers of one white label, written in transactions of a few thousand statements.
struct Batch<'a> {
    store: &'a Store,
    white_label: &'a GeneratedWhiteLabel,
    shares: Shares,
    now_us: i64,
    rows: &'a AtomicU64,
    customers_done: &'a AtomicU64,
    /// Whether the first customer of this white label is the platform's largest account.
    largest: bool,
}

impl Batch<'_> {
    async fn fill(
        &self,
        rng: &mut StdRng,
        white_label_index: usize,
        count: usize,
    ) -> anyhow::Result<Vec<CustomerId>> {
        let mut ids = Vec::with_capacity(count);
        let mut tx = self.store.begin().await?;
        let mut statements = 0;
        for index in 0..count {
            let customer = self.customer(rng, white_label_index, index);
            let id = customer.id.clone();
            let created_us = self.now_us - YEAR_US + rng.gen_range(0..YEAR_US - 3_600_000_000);
            tandem_store::customers::insert(&mut tx, &customer, created_us)
                .await
                .context("inserting a customer")?;
            statements += 1;
            let extensions = if self.largest && index == 0 {
                self.shares.largest_extensions
            } else {
                self.shares.extensions
            };
            statements += self
                .extensions(&mut tx, rng, &id, extensions, created_us)
                .await?;
            statements += self
                .numbers(&mut tx, white_label_index, index, &id, created_us)
                .await?;
            statements += self.ledger(&mut tx, rng, &customer, created_us).await?;
            self.rows.fetch_add(
                (1 + extensions + self.shares.numbers + self.shares.ledger_entries) as u64,
                Ordering::Relaxed,
            );
            self.customers_done.fetch_add(1, Ordering::Relaxed);
            ids.push(id);
            if statements >= STATEMENTS_PER_TRANSACTION {
                tx.commit().await?;
                self.prune_white_labels().await?;
                tx = self.store.begin().await?;
                statements = 0;
            }
        }
        tx.commit().await?;
        self.prune_white_labels().await?;
        Ok(ids)
    }

    /// Vacuums the white labels' rows on PostgreSQL. A charge to a white label updates its one
    /// row, so the bulk load writes hundreds of thousands of versions of twenty rows, and every
    /// foreign-key check of a new row steps over the dead ones. The vacuum removes those that no
    /// open transaction can still see, and skips its turn while another task's vacuum runs.
    async fn prune_white_labels(&self) -> anyhow::Result<()> {
        if self.store.backend() == Backend::Postgres {
            sqlx::query("VACUUM (TRUNCATE false, SKIP_LOCKED) white_labels")
                .execute(self.store.pool())
                .await
                .context("vacuuming the white labels")?;
        }
        Ok(())
    }

    fn customer(&self, rng: &mut StdRng, white_label_index: usize, index: usize) -> NewCustomer {
        let white_label = self.white_label;
        let word = NAME_WORDS[rng.gen_range(0..NAME_WORDS.len())];
        let trade = NAME_TRADES[rng.gen_range(0..NAME_TRADES.len())];
        let suffix = NAME_SUFFIXES[rng.gen_range(0..NAME_SUFFIXES.len())];
        // The white label and customer index keep every legal name distinct.
        let legal_name = format!("{word} {trade} {white_label_index}-{index} {suffix}");
        let given = GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())];
        let family = FAMILY_NAMES[rng.gen_range(0..FAMILY_NAMES.len())];
        let places = if white_label.country == "AU" {
            AU_PLACES
        } else {
            NZ_PLACES
        };
        let place = &places[rng.gen_range(0..places.len())];
        let address = AddressRow {
            line1: format!(
                "{} {}",
                rng.gen_range(1..400),
                STREETS[rng.gen_range(0..STREETS.len())]
            ),
            line2: rng
                .gen_bool(0.2)
                .then(|| format!("Level {}", rng.gen_range(1..30))),
            suburb: Some(place.suburb.to_string()),
            city: place.city.to_string(),
            region: place.region.map(str::to_string),
            postcode: place.postcode.to_string(),
            country: white_label.country.to_string(),
        };
        let roll = rng.gen_range(0..100);
        let mut cumulative = 0;
        let status = STATUSES
            .iter()
            .find(|(_, share)| {
                cumulative += share;
                roll < cumulative
            })
            .map_or("active", |(status, _)| status);
        let self_activated = status == "pending_activation" || rng.gen_bool(0.3);
        let (plan_id, currency) = &white_label.plans[rng.gen_range(0..white_label.plans.len())];
        NewCustomer {
            id: CustomerId::new(),
            white_label_id: white_label.id.clone(),
            account_number: account_number(white_label_index, index),
            status: status.to_string(),
            payer: if self_activated {
                "customer"
            } else {
                "white_label"
            }
            .to_string(),
            creation_mode: if self_activated {
                "self_activation"
            } else {
                "white_label_managed"
            }
            .to_string(),
            plan_id: plan_id.clone(),
            legal_name: legal_name.clone(),
            trading_name: rng.gen_bool(0.6).then(|| format!("{word} {trade}")),
            business_number: None,
            tax_number: None,
            contact_given_name: given.to_string(),
            contact_family_name: family.to_string(),
            contact_email: format!(
                "{}.{}{}@{}.example",
                given.to_lowercase(),
                family.to_lowercase().replace(' ', ""),
                index,
                word.to_lowercase()
            ),
            contact_phone: mobile_number(white_label.country, rng),
            contact_job_title: rng.gen_bool(0.5).then(|| "Director".to_string()),
            billing_address: address.clone(),
            service_same_as_billing: true,
            service_address: address,
            time_zone: place.zone.to_string(),
            currency: currency.clone(),
            activation_state: (status == "pending_activation").then(|| "queued".to_string()),
            created_by: None,
        }
    }

    // NOTE: extensions get no SIP credentials and accounts get no users, ring groups or
    // routes, so tables such as sip_credentials, users and memberships stay small.
    async fn extensions(
        &self,
        tx: &mut tandem_store::Tx,
        rng: &mut StdRng,
        customer_id: &CustomerId,
        count: usize,
        created_us: i64,
    ) -> anyhow::Result<usize> {
        for index in 0..count {
            let settings = ObjectSettings::Extension(ExtensionSettings {
                user_id: None,
                caller_id: None,
                voicemail: rng.gen_bool(0.7),
                forward_always: None,
                forward_busy: None,
                forward_no_answer: None,
                no_answer_seconds: 20,
                forward_unreachable: None,
            });
            let settings = serde_json::to_string(&settings)?;
            let short_number = (1000 + index).to_string();
            let name = format!(
                "{} {}",
                GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())],
                FAMILY_NAMES[rng.gen_range(0..FAMILY_NAMES.len())]
            );
            tandem_store::pbx::insert(
                tx,
                &NewObject {
                    id: &PbxObjectId::new(),
                    white_label_id: &self.white_label.id,
                    customer_id,
                    kind: "extension",
                    short_number: Some(&short_number),
                    name: &name,
                    settings: &settings,
                },
                created_us,
            )
            .await
            .context("inserting an extension")?;
        }
        Ok(count)
    }

    async fn numbers(
        &self,
        tx: &mut tandem_store::Tx,
        white_label_index: usize,
        customer_index: usize,
        customer_id: &CustomerId,
        created_us: i64,
    ) -> anyhow::Result<usize> {
        let per_customer = self.shares.numbers;
        for slot in 0..per_customer {
            let serial = customer_index * per_customer + slot;
            let (e164, area) =
                fixed_line_number(self.white_label.country, white_label_index, serial);
            tandem_store::numbers::insert(
                tx,
                &NewNumber {
                    e164,
                    country: self.white_label.country.to_string(),
                    area_code: area.to_string(),
                    number_type: "fixed_line".to_string(),
                    state: "assigned".to_string(),
                    white_label_id: Some(self.white_label.id.clone()),
                    customer_id: Some(customer_id.clone()),
                    live: true,
                },
                created_us,
            )
            .await
            .context("inserting a number")?;
        }
        Ok(per_customer)
    }

    async fn ledger(
        &self,
        tx: &mut tandem_store::Tx,
        rng: &mut StdRng,
        customer: &NewCustomer,
        created_us: i64,
    ) -> anyhow::Result<usize> {
        let count = self.shares.ledger_entries;
        let span = (self.now_us - created_us).max(1);
        let white_label_pays = customer.payer == "white_label";
        for index in 0..count {
            let at = created_us + span / count.max(1) as i64 * index as i64;
            let amount = rng.gen_range(500..20_000);
            let tax = amount * 15 / 100;
            let (account, kind, amount, tax, description) = if white_label_pays {
                (
                    Account::WhiteLabel(&self.white_label.id),
                    LedgerKind::Charge,
                    -amount,
                    -tax,
                    "Monthly fee",
                )
            } else if index % 4 == 0 {
                (
                    Account::Customer(&self.white_label.id, &customer.id),
                    LedgerKind::TopUp,
                    amount * 4,
                    0,
                    "Card top-up",
                )
            } else {
                (
                    Account::Customer(&self.white_label.id, &customer.id),
                    LedgerKind::Charge,
                    -amount,
                    -tax,
                    "Monthly fee",
                )
            };
            let entry = NewEntry {
                account,
                customer_id: Some(&customer.id),
                kind: kind.as_str(),
                amount_minor: amount,
                tax_minor: tax,
                currency: &customer.currency,
                description,
                actor_label: "generator",
            };
            match tandem_store::ledger::post(tx, &entry, at).await? {
                Posting::Posted(_) => {}
                // A customer's charge that its balance cannot cover becomes a top-up.
                Posting::InsufficientFunds { .. } => {
                    let top_up = NewEntry {
                        kind: LedgerKind::TopUp.as_str(),
                        amount_minor: -amount * 2,
                        tax_minor: 0,
                        description: "Card top-up",
                        ..entry
                    };
                    tandem_store::ledger::post(tx, &top_up, at).await?;
                }
                Posting::AccountMismatch => anyhow::bail!("ledger account mismatch"),
            }
        }
        // Two statements per posting: the balance update and the entry.
        Ok(count * 2)
    }
}

/// Builds a distinct valid account number: seven digits from the white label and customer
/// index, and the Luhn check digit.
fn account_number(white_label_index: usize, index: usize) -> String {
    let body = 1_000_000 + white_label_index * 400_000 + index;
    let body = body.to_string();
    AccountNumber::parse(&format!("{body}{}", luhn_digit(&body)))
        .map(|number| number.as_str().to_string())
        .unwrap_or(body)
}

fn luhn_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Picks a mobile number in E.164 form: 021 for New Zealand, 0410 to 0439 for Australia.
fn mobile_number(country: &str, rng: &mut StdRng) -> String {
    if country == "AU" {
        format!("+614{:08}", rng.gen_range(10_000_000..40_000_000))
    } else {
        format!("+6421{:07}", rng.gen_range(1_000_000..9_999_999))
    }
}

/// Builds a distinct geographic number in E.164 form and its area code. New Zealand white
/// labels number from Auckland (09 2xx xxxx to 09 9xx xxxx), and Australian ones from Sydney
/// (02 8xxx xxxx and 02 9xxx xxxx). Each white label has a block of 350,000 numbers.
fn fixed_line_number(country: &str, white_label_index: usize, serial: usize) -> (String, &str) {
    let offset = (white_label_index / 3 * 2 + white_label_index % 3) * 350_000 + serial;
    if country == "AU" {
        (format!("+612{}", 80_000_000 + offset % 20_000_000), "2")
    } else {
        (format!("+649{}", 2_000_000 + offset % 8_000_000), "9")
    }
}

/// Reads back what [`generate`] made in a database that an earlier run kept: the white labels
/// (the bench's own, whose hosts end in `.bench.localhost`) in the order they were created,
/// their plans and customers, and the largest account. The ids are time-ordered, so ordering by
/// id gives the order of creation. Customers that an earlier run's creation phase added come
/// after the generated ones.
pub async fn read_back(store: &Store) -> anyhow::Result<Generated> {
    let pool = store.pool();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT w.id, h.host, w.country FROM white_labels w \
         JOIN white_label_hosts h ON h.white_label_id = w.id \
         WHERE h.host LIKE '%.bench.localhost' ORDER BY w.id",
    )
    .fetch_all(pool)
    .await
    .context("reading the generated white labels")?;
    let mut white_labels = Vec::with_capacity(rows.len());
    for (id, host, country) in rows {
        let plans: Vec<(String, String)> =
            sqlx::query_as("SELECT id, currency FROM plans WHERE white_label_id = $1 ORDER BY id")
                .bind(&id)
                .fetch_all(pool)
                .await
                .context("reading the generated plans")?;
        // Only the first white label, the measured one, needs its customers' ids.
        let customers: Vec<String> = if white_labels.is_empty() {
            sqlx::query_scalar("SELECT id FROM customers WHERE white_label_id = $1 ORDER BY id")
                .bind(&id)
                .fetch_all(pool)
                .await
                .context("reading the generated customers")?
        } else {
            Vec::new()
        };
        white_labels.push(GeneratedWhiteLabel {
            id: WhiteLabelId::from_trusted(id),
            host,
            country: if country == "AU" { "AU" } else { "NZ" },
            plans: plans
                .into_iter()
                .map(|(id, currency)| (PlanId::from_trusted(id), currency))
                .collect(),
            customers: customers
                .into_iter()
                .map(CustomerId::from_trusted)
                .collect(),
        });
    }
    let Some(first) = white_labels.first() else {
        anyhow::bail!(
            "no generated white label found in the database: give --reuse a database that \
             --keep printed"
        );
    };
    let Some(largest) = first.customers.first() else {
        anyhow::bail!("the first generated white label has no customers");
    };
    Ok(Generated {
        largest_account: (first.id.clone(), largest.clone()),
        white_labels,
        rows: 0,
        elapsed: Duration::ZERO,
    })
}

/// Leaves the generated data as a database that has run for a while keeps it, so that the load
/// phases do not compete with clean-up after the bulk load. Both engines get planner
/// statistics. On PostgreSQL the tables are vacuumed and a checkpoint taken. Otherwise the first
/// read of each freshly written page sets its visibility hints and dirties it, and the checkpoint
/// that writes the bulk load out runs, during the load phases. On SQLite the write-ahead log is
/// copied into the database file.
async fn settle(store: &Store) -> anyhow::Result<()> {
    let statements: &[&str] = match store.backend() {
        Backend::Sqlite => &["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"],
        Backend::Postgres => &["VACUUM (ANALYZE)", "CHECKPOINT"],
    };
    for statement in statements {
        sqlx::query(statement)
            .execute(store.pool())
            .await
            .with_context(|| format!("running {statement} on the generated tables"))?;
    }
    Ok(())
}

async fn show_progress(customers: Arc<AtomicU64>, rows: Arc<AtomicU64>, total: u64) {
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let done = customers.load(Ordering::Relaxed);
        let width = 30;
        let filled = (done * width / total.max(1)) as usize;
        eprint!(
            "\rgenerating [{}{}] {done}/{total} customers, {} rows, {:.0} s ",
            "#".repeat(filled),
            " ".repeat(width as usize - filled),
            rows.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_domain::{Country, PhoneNumber};

    #[test]
    fn generated_numbers_valid() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..50 {
            for country in ["NZ", "AU"] {
                let parsed = Country::parse(country).unwrap();
                let mobile = mobile_number(country, &mut rng);
                assert!(PhoneNumber::parse(&mobile, parsed).is_ok(), "{mobile}");
            }
        }
        for (country, index) in [("NZ", 0), ("NZ", 19), ("AU", 2), ("AU", 17)] {
            let parsed = Country::parse(country).unwrap();
            for serial in [0, 1, 349_999] {
                let (number, _) = fixed_line_number(country, index, serial);
                assert!(PhoneNumber::parse(&number, parsed).is_ok(), "{number}");
            }
        }
    }

    #[test]
    fn account_numbers_valid_and_distinct() {
        let a = account_number(0, 0);
        let b = account_number(19, 5_000);
        assert!(AccountNumber::parse(&a).is_ok());
        assert!(AccountNumber::parse(&b).is_ok());
        assert_ne!(a, b);
    }

    #[test]
    fn split_covers_total() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(100_000, 20).iter().sum::<usize>(), 100_000);
    }
}
