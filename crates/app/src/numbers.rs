//! Phone numbers: the platform's inventory, pools of white labels, assignment to customer
//! accounts with its rental charge, release into quarantine, moves between accounts, inbound
//! routing, and port orders that bring numbers from another carrier.

use serde::Serialize;
use tandem_domain::pbx::routing::Warning;
use tandem_domain::pbx::Destination;
use tandem_domain::{
    Country, CustomerId, Permission, PhoneNumber, PortOrderId, ValueError, WhiteLabelId,
};
use tandem_store::numbers::{self as store_numbers, NewNumber, NumberFilter, NumberRow, Pool};
use tandem_store::pbx as store_pbx;
use tandem_store::port_orders::{self as store_ports, PortOrderRow};
use tandem_store::{customers as store_customers, white_labels};

use crate::access::{AccountOperator, PlatformAdmin, Principal, WhiteLabelAdmin};
use crate::audit::{record, Change};
use crate::charges::ChargePlan;
use crate::pbx::{config_rejected, load, resolve_destination, ChargePreview};
use crate::validate::Fields;
use crate::{App, AppError, AppResult, FieldError};

/// States of a number in the inventory.
pub const NUMBER_STATES: [&str; 5] = ["available", "reserved", "assigned", "ageing", "porting"];

/// The maximum count of numbers in one range.
pub const MAX_RANGE: u64 = 10_000;

/// A number as shown to people and API clients.
#[derive(Debug, Clone, Serialize)]
pub struct NumberView {
    /// E.164 form, such as `+6494001234`.
    pub number: String,
    /// As dialled from abroad, such as `+64 9 400 1234`.
    pub international: String,
    /// As dialled within its country, such as `09 400 1234`.
    pub national: String,
    pub country: String,
    pub area_code: String,
    pub number_type: String,
    pub state: String,
    /// False while a port-in is not complete.
    pub live: bool,
    pub destination: Option<Destination>,
    /// The white label whose pool contains the number; `None` is the platform's pool.
    pub pool: Option<WhiteLabelId>,
    pub customer_id: Option<CustomerId>,
    /// When an ageing number becomes available again, in microseconds since the epoch.
    pub ageing_until_us: Option<i64>,
    pub version: i64,
}

impl NumberView {
    /// Builds the view of a stored number.
    pub fn of(row: &NumberRow) -> Self {
        let parsed = PhoneNumber::parse_e164(&row.e164).ok();
        Self {
            number: row.e164.clone(),
            international: parsed
                .as_ref()
                .map_or_else(|| row.e164.clone(), PhoneNumber::format_international),
            national: parsed
                .as_ref()
                .map_or_else(|| row.e164.clone(), PhoneNumber::format_national),
            country: row.country.clone(),
            area_code: row.area_code.clone(),
            number_type: row.number_type.clone(),
            state: row.state.clone(),
            live: row.live,
            destination: row
                .destination
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
            pool: row.white_label_id.clone(),
            customer_id: row.customer_id.clone(),
            ageing_until_us: row.ageing_until_us,
            version: row.version,
        }
    }
}

/// One line of a number load: a number in any format its country allows.
#[derive(Debug, Clone)]
pub struct NumberLine {
    /// The line of the file (or position in the request), counted from 1.
    pub line: usize,
    pub number: String,
    /// ISO country code for national formats; international numbers carry their own.
    pub country: String,
}

/// A line that was not loaded, and why.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedLine {
    pub line: usize,
    pub input: String,
    pub reason: String,
}

/// The outcome of a number load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub loaded: usize,
    /// Numbers already in the inventory (or repeated in the input), by line.
    pub duplicates: Vec<RejectedLine>,
    pub invalid: Vec<RejectedLine>,
}

/// Reads a CSV file of numbers: a `number` column and an optional `country` column (the
/// country of national formats; `default_country` when absent). A header row is recognised by
/// its `number` cell. Quoted cells may hold commas.
pub fn parse_numbers_csv(text: &str, default_country: &str) -> Vec<NumberLine> {
    let mut lines = Vec::new();
    let mut number_column = 0;
    let mut country_column = None;
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let cells = split_csv_line(raw);
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if index == 0 {
            let lower: Vec<String> = cells
                .iter()
                .map(|c| c.trim().to_ascii_lowercase())
                .collect();
            if let Some(position) = lower.iter().position(|c| c == "number") {
                number_column = position;
                country_column = lower.iter().position(|c| c == "country");
                continue;
            }
        }
        let cell = |column: usize| {
            cells
                .get(column)
                .map(|c| c.trim().to_owned())
                .unwrap_or_default()
        };
        let country = country_column
            .map(cell)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| default_country.to_owned());
        lines.push(NumberLine {
            line: index + 1,
            number: cell(number_column),
            country,
        });
    }
    lines
}

/// Splits CSV text into its non-blank rows, each with its line number counted from 1.
pub(crate) fn csv_rows(text: &str) -> Vec<(usize, Vec<String>)> {
    text.trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, split_csv_line(line)))
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect()
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("one cell").push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            other => cells.last_mut().expect("one cell").push(other),
        }
    }
    cells
}

/// Expands a range such as `09 400 1000` to `09 400 1099` into its numbers, in E.164 form.
/// Both ends must be valid numbers of one length; at most [`MAX_RANGE`] numbers.
pub fn expand_range(from: &str, to: &str, country: Country) -> AppResult<Vec<String>> {
    let mut fields = Fields::default();
    let first = fields.check("from", PhoneNumber::parse(from, country));
    let last = fields.check("to", PhoneNumber::parse(to, country));
    fields.finish()?;
    let (first, last) = (first.expect("checked"), last.expect("checked"));
    let (a, b) = (first.as_str(), last.as_str());
    let numeric = |s: &str| s[1..].parse::<u64>().ok();
    let (Some(start), Some(end)) = (numeric(a), numeric(b)) else {
        return Err(AppError::field(
            "from",
            ValueError::new("invalid_range", "The range ends are not numbers."),
        ));
    };
    if a.len() != b.len() || end < start {
        return Err(AppError::field(
            "to",
            ValueError::new(
                "invalid_range",
                format!(
                    "{} does not come after {} with the same number of digits: give the last \
                     number of the range",
                    last.format_international(),
                    first.format_international()
                ),
            ),
        ));
    }
    if end - start + 1 > MAX_RANGE {
        return Err(AppError::field(
            "to",
            ValueError::new(
                "range_too_large",
                format!(
                    "The range holds {} numbers; load at most {MAX_RANGE} at once.",
                    end - start + 1
                ),
            ),
        ));
    }
    let width = a.len() - 1;
    Ok((start..=end).map(|n| format!("+{n:0width$}")).collect())
}

/// Filters of a number search, as entered.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct NumberSearch {
    pub country: Option<String>,
    pub area_code: Option<String>,
    /// Leading digits of the number in E.164 or national form.
    pub prefix: Option<String>,
    pub state: Option<String>,
    /// The last number of the previous page.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl NumberSearch {
    fn filter(&self, pool: Pool) -> AppResult<NumberFilter> {
        let mut fields = Fields::default();
        let country = crate::validate::present(&self.country)
            .and_then(|c| fields.check("country", Country::parse(c)));
        let digits = |s: &str| s.chars().filter(|c| c.is_ascii_digit()).collect::<String>();
        let area_code = crate::validate::present(&self.area_code)
            .map(|a| digits(a).trim_start_matches('0').to_owned());
        let prefix = crate::validate::present(&self.prefix).map(|p| {
            let d = digits(p);
            if p.trim_start().starts_with('+') {
                format!("+{d}")
            } else if let (Some(country), true) = (country, d.starts_with('0')) {
                // A national prefix: 094 in New Zealand is +649….
                format!(
                    "+{}{}",
                    country_calling_code(country),
                    d.trim_start_matches('0')
                )
            } else {
                format!("+{d}")
            }
        });
        let state = crate::validate::present(&self.state).and_then(|s| {
            if NUMBER_STATES.contains(&s) {
                Some(s.to_owned())
            } else {
                fields.push(FieldError::custom(
                    "state",
                    "invalid_state",
                    format!("use one of {}", NUMBER_STATES.join(", ")),
                ));
                None
            }
        });
        fields.finish()?;
        Ok(NumberFilter {
            pool,
            country: country.map(|c| c.as_str().to_owned()),
            area_code,
            prefix,
            state,
            after: self.after.clone().filter(|a| !a.is_empty()),
            limit: self.limit.unwrap_or(50).clamp(1, 500),
        })
    }
}

/// Returns the calling code of the countries whose national prefixes the search recognises.
fn country_calling_code(country: Country) -> String {
    match country.as_str() {
        "NZ" => "64".into(),
        "AU" => "61".into(),
        "US" | "CA" => "1".into(),
        "GB" => "44".into(),
        _ => String::new(),
    }
}

fn number_row(number: &PhoneNumber, state: &str, pool: Option<&WhiteLabelId>) -> NewNumber {
    NewNumber {
        e164: number.as_str().to_owned(),
        country: number.country().as_str().to_owned(),
        area_code: number.area_code(),
        number_type: number.number_type().to_owned(),
        state: state.to_owned(),
        white_label_id: pool.cloned(),
        customer_id: None,
        live: true,
    }
}

/// An account's port order as entered.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortOrderInput {
    pub numbers: Vec<String>,
    /// The carrier the numbers leave.
    pub losing_carrier: String,
    /// The customer's account number with that carrier.
    pub carrier_account: Option<String>,
}

/// The kinds of number that can be ported in.
const PORTABLE_TYPES: [&str; 4] = ["fixed_line", "mobile", "toll_free", "voip"];

/// States of a port order and the moves allowed between them.
pub const PORT_TRANSITIONS: [(&str, &str); 8] = [
    ("draft", "submitted"),
    ("draft", "cancelled"),
    ("submitted", "scheduled"),
    ("submitted", "rejected"),
    ("submitted", "cancelled"),
    ("scheduled", "scheduled"),
    ("scheduled", "completed"),
    ("scheduled", "cancelled"),
];

/// A move of a port order as requested.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortTransition {
    /// The state to move to.
    pub to: String,
    /// `YYYY-MM-DD`, for `scheduled`.
    pub date: Option<String>,
    /// Why, for `rejected` and `cancelled`.
    pub reason: Option<String>,
}

impl App {
    /// Loads numbers into the inventory in batches, calling `progress` with the count done
    /// after each batch. Numbers already stored are reported as duplicates, never changed.
    pub async fn load_numbers(
        &self,
        _admin: &PlatformAdmin,
        lines: &[NumberLine],
        pool: Option<&WhiteLabelId>,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> AppResult<LoadReport> {
        if let Some(pool) = pool {
            let mut conn = self.store.conn().await?;
            white_labels::get(&mut conn, pool)
                .await?
                .ok_or(AppError::NotFound("white label"))?;
        }
        let mut report = LoadReport::default();
        let mut seen = std::collections::HashSet::new();
        for chunk in lines.chunks(500) {
            let now = self.now_us();
            let mut tx = self.store.begin().await?;
            for line in chunk {
                let reject = |reason: String| RejectedLine {
                    line: line.line,
                    input: line.number.clone(),
                    reason,
                };
                let country = match Country::parse(&line.country) {
                    Ok(country) => country,
                    Err(error) => {
                        report
                            .invalid
                            .push(reject(format!("country: {}", error.message)));
                        continue;
                    }
                };
                let number = match PhoneNumber::parse(&line.number, country) {
                    Ok(number) => number,
                    Err(error) => {
                        report.invalid.push(reject(error.message));
                        continue;
                    }
                };
                if !seen.insert(number.as_str().to_owned()) {
                    report.duplicates.push(reject(format!(
                        "{} is repeated in this load",
                        number.as_str()
                    )));
                    continue;
                }
                if store_numbers::insert(&mut tx, &number_row(&number, "available", pool), now)
                    .await?
                {
                    report.loaded += 1;
                } else {
                    report.duplicates.push(reject(format!(
                        "{} is already in the inventory",
                        number.as_str()
                    )));
                }
            }
            tx.commit().await?;
            progress(report.loaded + report.duplicates.len() + report.invalid.len());
        }
        if report.loaded > 0 {
            let mut conn = self.store.conn().await?;
            record(
                &mut conn,
                self.now_us(),
                _admin.actor(),
                Change {
                    white_label_id: pool,
                    action: "numbers.loaded",
                    object_kind: "number",
                    object_id: "inventory",
                    after: Some(serde_json::json!({
                        "loaded": report.loaded,
                        "duplicates": report.duplicates.len(),
                        "invalid": report.invalid.len(),
                    })),
                    ..Change::default()
                },
            )
            .await?;
        }
        Ok(report)
    }

    /// Searches the inventory: all of it for a platform administrator, and the numbers a white
    /// label may assign (its pool and the platform's) for anyone else.
    pub async fn search_numbers(
        &self,
        principal: &Principal,
        white_label_id: Option<&WhiteLabelId>,
        search: &NumberSearch,
    ) -> AppResult<Vec<NumberView>> {
        let pool = match (principal.is_platform_admin(), white_label_id) {
            (true, None) => Pool::All,
            (_, Some(wl)) => {
                // A white label's administrators, and members of its accounts who may assign
                // numbers, see the numbers they could assign.
                let account_member = principal
                    .customer_roles(wl)
                    .iter()
                    .any(|(_, role)| role.permits(Permission::ManageNumbers));
                if !account_member {
                    principal.white_label_admin(wl, Permission::ViewCustomers)?;
                }
                Pool::AvailableTo(wl.clone())
            }
            (false, None) => {
                return Err(AppError::Forbidden(
                    "only a Platform Administrator may search the whole inventory".into(),
                ))
            }
        };
        let mut filter = search.filter(pool)?;
        if !principal.is_platform_admin() || white_label_id.is_some() {
            // Other tenants' assigned numbers are not theirs to see.
            filter.state = Some("available".into());
        }
        let mut conn = self.store.conn().await?;
        Ok(store_numbers::search(&mut conn, &filter)
            .await?
            .iter()
            .map(NumberView::of)
            .collect())
    }

    /// Allocates available numbers to a white label's pool (or returns them to the platform's
    /// pool); returns the numbers that moved.
    pub async fn allocate_numbers(
        &self,
        admin: &PlatformAdmin,
        numbers: &[String],
        white_label_id: Option<&WhiteLabelId>,
    ) -> AppResult<Vec<String>> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        if let Some(wl) = white_label_id {
            white_labels::get(&mut tx, wl)
                .await?
                .ok_or(AppError::NotFound("white label"))?;
        }
        let mut moved = Vec::new();
        for (index, input) in numbers.iter().enumerate() {
            let number = PhoneNumber::parse_e164(input)
                .map_err(|e| AppError::field(format!("numbers[{index}]"), e))?;
            if store_numbers::allocate(&mut tx, number.as_str(), white_label_id, now).await? {
                moved.push(number.as_str().to_owned());
            }
        }
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id,
                action: "numbers.allocated",
                object_kind: "number",
                object_id: "inventory",
                after: Some(serde_json::json!({ "numbers": moved })),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Counts the inventory by state.
    pub async fn number_counts(&self, _admin: &PlatformAdmin) -> AppResult<Vec<(String, i64)>> {
        let mut conn = self.store.conn().await?;
        Ok(store_numbers::count_by_state(&mut conn).await?)
    }

    /// Lists the numbers of an account, assigned or porting.
    pub async fn account_numbers(&self, op: &AccountOperator) -> AppResult<Vec<NumberView>> {
        op.require(Permission::ManageNumbers)?;
        let mut conn = self.store.conn().await?;
        store_customers::get(&mut conn, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        Ok(
            store_numbers::list_for_customer(&mut conn, op.white_label_id(), op.customer_id())
                .await?
                .iter()
                .map(NumberView::of)
                .collect(),
        )
    }

    /// Assigns an available number to an account and debits the plan's monthly rental from
    /// the account's payer. On a dry run nothing is written and the charges are returned.
    pub async fn assign_number(
        &self,
        op: &AccountOperator,
        input: &str,
        dry_run: bool,
    ) -> AppResult<(NumberView, ChargePreview)> {
        op.require(Permission::ManageNumbers)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        crate::pbx::lock(&mut tx, op).await?;
        let customer = store_customers::get(&mut tx, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        let country = Country::parse(&customer.service_address.country)
            .map_err(|e| AppError::Internal(format!("stored country: {e}")))?;
        crate::pbx::require_open(&customer)?;
        let number =
            PhoneNumber::parse(input, country).map_err(|e| AppError::field("number", e))?;
        let shown = number.format_international();
        let row = store_numbers::get(&mut tx, number.as_str()).await?;
        let unavailable = |code: &'static str, message: String| AppError::Conflict {
            code,
            message,
            field: Some("number".into()),
        };
        match &row {
            None => {
                return Err(unavailable(
                    "number_not_in_inventory",
                    format!("{shown} is not in the number inventory: pick an available number, or port it in"),
                ))
            }
            Some(row) if row.customer_id.as_ref() == Some(op.customer_id()) => {
                return Err(unavailable("number_already_assigned", format!("{shown} is already this account's number")))
            }
            Some(row) if row.state == "ageing" => {
                return Err(unavailable(
                    "number_in_quarantine",
                    format!("{shown} was released recently and is held in quarantine: pick another number"),
                ))
            }
            Some(row) if row.state != "available" => {
                return Err(unavailable("number_in_use", format!("{shown} is in use: pick another number")))
            }
            Some(row) if row.white_label_id.as_ref().is_some_and(|wl| wl != op.white_label_id()) => {
                return Err(unavailable("number_in_use", format!("{shown} is in use: pick another number")))
            }
            Some(_) => {}
        }
        let mut plan = ChargePlan::new(&mut tx, &customer).await?;
        let rental = plan.number_rental();
        let description = format!(
            "Number rental, {shown}, {} plan, {}",
            plan.plan_name(),
            plan.month(now)
        );
        plan.add(rental, description);
        let row = row.expect("checked");
        if dry_run {
            let mut view = NumberView::of(&row);
            view.state = "assigned".into();
            view.customer_id = Some(op.customer_id().clone());
            return Ok((view, plan.preview()));
        }
        crate::pbx::may_charge(op, &customer, &plan)?;
        if !store_numbers::assign(
            &mut tx,
            number.as_str(),
            op.white_label_id(),
            op.customer_id(),
            now,
        )
        .await?
        {
            return Err(unavailable(
                "number_in_use",
                format!("{shown} is in use: pick another number"),
            ));
        }
        let charges = plan
            .post(&mut tx, op.customer_id(), op.actor().label(), now)
            .await?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                action: "number.assigned",
                object_kind: "number",
                object_id: number.as_str(),
                after: Some(serde_json::json!({ "customer_id": op.customer_id(), "charged_minor": charges.total_minor })),
                ..Change::default()
            },
        )
        .await?;
        let row = store_numbers::get(&mut tx, number.as_str())
            .await?
            .ok_or(AppError::NotFound("number"))?;
        tx.commit().await?;
        Ok((NumberView::of(&row), charges))
    }

    /// Releases an account's number into quarantine; refused while an extension shows it as
    /// caller ID.
    pub async fn release_number(&self, op: &AccountOperator, e164: &str) -> AppResult<NumberView> {
        op.require(Permission::ManageNumbers)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        crate::pbx::lock(&mut tx, op).await?;
        let number = PhoneNumber::parse_e164(e164).map_err(|_| AppError::NotFound("number"))?;
        let loaded = load(&mut tx, op.white_label_id(), op.customer_id()).await?;
        caller_id_free(&loaded.config, &number)?;
        let until = now + self.settings.number_quarantine.as_micros() as i64;
        let row = store_numbers::get(&mut tx, number.as_str()).await?;
        let porting = row.as_ref().is_some_and(|r| {
            r.state == "porting" && r.customer_id.as_ref() == Some(op.customer_id())
        });
        if porting {
            return Err(AppError::Conflict {
                code: "number_porting",
                message: "this number is being ported in: cancel its port order instead".into(),
                field: None,
            });
        }
        if !store_numbers::release(&mut tx, op.customer_id(), number.as_str(), until, now).await? {
            return Err(AppError::NotFound("number"));
        }
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                action: "number.released",
                object_kind: "number",
                object_id: number.as_str(),
                after: Some(serde_json::json!({ "ageing_until_us": until })),
                ..Change::default()
            },
        )
        .await?;
        let row = store_numbers::get(&mut tx, number.as_str())
            .await?
            .ok_or(AppError::NotFound("number"))?;
        tx.commit().await?;
        Ok(NumberView::of(&row))
    }

    /// Routes an account's number to a destination (`hangup`, an object id or short number, or
    /// an outside number), if the number is still at `version`.
    pub async fn route_number(
        &self,
        op: &AccountOperator,
        e164: &str,
        destination: &str,
        version: i64,
    ) -> AppResult<(NumberView, Vec<Warning>)> {
        op.require(Permission::ManageNumbers)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        crate::pbx::lock(&mut tx, op).await?;
        let number = PhoneNumber::parse_e164(e164).map_err(|_| AppError::NotFound("number"))?;
        let mut loaded = load(&mut tx, op.white_label_id(), op.customer_id()).await?;
        let index = loaded
            .config
            .numbers
            .iter()
            .position(|n| n.number == number.as_str())
            .ok_or(AppError::NotFound("number"))?;
        let current = store_numbers::get(&mut tx, number.as_str())
            .await?
            .ok_or(AppError::NotFound("number"))?;
        if current.version != version {
            return Err(AppError::EditConflict {
                current: current.version,
            });
        }
        let destination = resolve_destination(&loaded.config, destination)
            .map_err(|e| AppError::field("destination", e))?;
        let before = loaded.config.numbers[index].destination.clone();
        loaded.config.numbers[index].destination = Some(destination.clone());
        let warnings = loaded.config.check().map_err(config_rejected)?;
        let json =
            serde_json::to_string(&destination).map_err(|e| AppError::Internal(e.to_string()))?;
        store_numbers::set_destination(
            &mut tx,
            op.customer_id(),
            number.as_str(),
            Some(&json),
            version,
            now,
        )
        .await?
        .ok_or(AppError::EditConflict {
            current: current.version,
        })?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                action: "number.routed",
                object_kind: "number",
                object_id: number.as_str(),
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&destination).ok(),
                ..Change::default()
            },
        )
        .await?;
        let row = store_numbers::get(&mut tx, number.as_str())
            .await?
            .ok_or(AppError::NotFound("number"))?;
        tx.commit().await?;
        Ok((NumberView::of(&row), warnings))
    }

    /// Moves a number from one account of the white label to another, as one audited action.
    /// Its routing is cleared, because the old destination belongs to the old account.
    pub async fn move_number(
        &self,
        admin: &WhiteLabelAdmin,
        e164: &str,
        from: &CustomerId,
        to: &CustomerId,
    ) -> AppResult<NumberView> {
        admin.require(Permission::ManageNumbers)?;
        let now = self.now_us();
        let number = PhoneNumber::parse_e164(e164).map_err(|e| AppError::field("number", e))?;
        if from == to {
            return Err(AppError::field(
                "to",
                ValueError::new("same_account", "The number is already in that account."),
            ));
        }
        let mut tx = self.store.begin().await?;
        for customer in [from, to] {
            store_pbx::lock_account(&mut tx, admin.white_label_id(), customer)
                .await?
                .ok_or(AppError::NotFound("customer account"))?;
        }
        let loaded = load(&mut tx, admin.white_label_id(), from).await?;
        caller_id_free(&loaded.config, &number)?;
        if loaded
            .config
            .numbers
            .iter()
            .any(|n| n.number == number.as_str() && !n.live)
        {
            return Err(AppError::Conflict {
                code: "number_porting",
                message: format!(
                    "{} is being ported in: move it once its port order completes",
                    number.format_international()
                ),
                field: None,
            });
        }
        let target = load(&mut tx, admin.white_label_id(), to).await?;
        crate::pbx::require_open(&target.customer)?;
        if !store_numbers::move_to(&mut tx, from, to, number.as_str(), now).await? {
            return Err(AppError::NotFound("number"));
        }
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                customer_id: Some(to),
                action: "number.moved",
                object_kind: "number",
                object_id: number.as_str(),
                before: Some(serde_json::json!({ "customer_id": from })),
                after: Some(serde_json::json!({ "customer_id": to })),
                ..Change::default()
            },
        )
        .await?;
        let row = store_numbers::get(&mut tx, number.as_str())
            .await?
            .ok_or(AppError::NotFound("number"))?;
        tx.commit().await?;
        Ok(NumberView::of(&row))
    }

    /// Makes numbers whose quarantine ended available again; returns how many.
    pub async fn end_number_quarantine(&self) -> AppResult<u64> {
        let mut conn = self.store.conn().await?;
        Ok(store_numbers::end_quarantine(&mut conn, self.now_us()).await?)
    }

    /// Lists the port orders of an account, newest first.
    pub async fn port_orders(&self, op: &AccountOperator) -> AppResult<Vec<PortOrderRow>> {
        op.require(Permission::ManageNumbers)?;
        let mut conn = self.store.conn().await?;
        store_customers::get(&mut conn, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        Ok(store_ports::list(&mut conn, op.white_label_id(), op.customer_id()).await?)
    }

    /// Creates a draft port order: its numbers enter the account as `porting`, configurable
    /// but not live. Porting is available for New Zealand numbers.
    pub async fn create_port_order(
        &self,
        op: &AccountOperator,
        input: &PortOrderInput,
    ) -> AppResult<PortOrderRow> {
        op.require(Permission::ManageNumbers)?;
        let now = self.now_us();
        let mut fields = Fields::default();
        let carrier = fields.check(
            "losing_carrier",
            tandem_domain::Name::parse(&input.losing_carrier, 80),
        );
        let carrier_account = crate::validate::present(&input.carrier_account)
            .and_then(|a| fields.check("carrier_account", tandem_domain::Name::parse(a, 40)));
        let nz = Country::parse("NZ").expect("NZ");
        let mut numbers: Vec<PhoneNumber> = Vec::new();
        if input.numbers.is_empty() {
            fields.push(FieldError::custom(
                "numbers",
                "required",
                "list at least one number to port",
            ));
        }
        for (index, text) in input.numbers.iter().enumerate() {
            let field = format!("numbers[{index}]");
            if let Some(number) = fields.check(&field, PhoneNumber::parse(text, nz)) {
                if number.country() != nz {
                    fields.push(FieldError::custom(&field, "porting_unavailable", format!(
                        "{} is not a New Zealand number: porting is available for New Zealand numbers",
                        number.format_international()
                    )));
                } else if !PORTABLE_TYPES.contains(&number.number_type()) {
                    fields.push(FieldError::custom(
                        &field,
                        "porting_unavailable",
                        format!(
                            "{} is a {} number, which cannot be ported in: port landline, \
                             mobile, freephone or VoIP numbers",
                            number.format_international(),
                            number.number_type().replace('_', " ")
                        ),
                    ));
                } else if numbers.iter().any(|n| n.as_str() == number.as_str()) {
                    fields.push(FieldError::custom(
                        &field,
                        "duplicate",
                        "this number is listed twice",
                    ));
                } else {
                    numbers.push(number);
                }
            }
        }
        if input.numbers.len() > 100 {
            fields.push(FieldError::custom(
                "numbers",
                "too_many",
                "port at most 100 numbers in one order",
            ));
        }
        fields.finish()?;
        let mut tx = self.store.begin().await?;
        crate::pbx::lock(&mut tx, op).await?;
        let customer = store_customers::get(&mut tx, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        crate::pbx::require_open(&customer)?;
        let open_orders = store_ports::count_open(&mut tx, op.customer_id()).await?;
        if open_orders >= i64::from(self.settings.max_open_port_orders) {
            return Err(AppError::Conflict {
                code: "too_many_port_orders",
                message: format!(
                    "this account has {open_orders} port orders in progress, the most it may \
                     have: finish or cancel one first"
                ),
                field: None,
            });
        }
        for (index, number) in numbers.iter().enumerate() {
            let mut row = number_row(number, "porting", Some(op.white_label_id()));
            row.customer_id = Some(op.customer_id().clone());
            row.live = false;
            if !store_numbers::insert(&mut tx, &row, now).await? {
                return Err(AppError::Conflict {
                    code: "number_in_use",
                    message: format!(
                        "{} is already in service here: it cannot be ported in",
                        number.format_international()
                    ),
                    field: Some(format!("numbers[{index}]")),
                });
            }
        }
        let order = PortOrderRow {
            id: PortOrderId::new(),
            customer_id: op.customer_id().clone(),
            state: "draft".into(),
            losing_carrier: carrier.expect("checked").as_str().to_owned(),
            carrier_account: carrier_account.map(|a| a.as_str().to_owned()),
            scheduled_date: None,
            reason: None,
            version: 1,
            created_us: now,
            updated_us: now,
            numbers: numbers.iter().map(|n| n.as_str().to_owned()).collect(),
        };
        store_ports::insert(&mut tx, op.white_label_id(), &order, now).await?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                action: "port_order.created",
                object_kind: "port_order",
                object_id: order.id.as_str(),
                after: Some(serde_json::json!({ "numbers": order.numbers, "losing_carrier": order.losing_carrier })),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(order)
    }

    /// Moves a port order to another state. The account submits and cancels; the white label
    /// (which deals with the carriers) schedules, completes and rejects. Completion makes the
    /// numbers assigned and live and charges their rental; cancelling or rejecting removes them
    /// from the account.
    pub async fn transition_port_order(
        &self,
        principal: &Principal,
        white_label_id: &WhiteLabelId,
        customer_id: &CustomerId,
        id: &PortOrderId,
        input: &PortTransition,
    ) -> AppResult<PortOrderRow> {
        let to = input.to.trim();
        let carrier_side = matches!(to, "scheduled" | "completed" | "rejected");
        let actor = if carrier_side {
            principal
                .white_label_admin(white_label_id, Permission::ManageNumbers)?
                .actor()
                .clone()
        } else {
            let op = principal.account_operator(
                white_label_id,
                customer_id,
                Permission::ManageNumbers,
            )?;
            op.actor().clone()
        };
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        store_pbx::lock_account(&mut tx, white_label_id, customer_id)
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        let order = store_ports::get(&mut tx, white_label_id, customer_id, id)
            .await?
            .ok_or(AppError::NotFound("port order"))?;
        if !PORT_TRANSITIONS.contains(&(order.state.as_str(), to)) {
            let allowed: Vec<&str> = PORT_TRANSITIONS
                .iter()
                .filter(|(from, _)| *from == order.state)
                .map(|(_, to)| *to)
                .collect();
            return Err(AppError::Conflict {
                code: "invalid_transition",
                message: if allowed.is_empty() {
                    format!(
                        "the port order is {} and cannot change any more",
                        order.state
                    )
                } else {
                    format!(
                        "a {} port order can move to {}, not to '{to}'",
                        order.state,
                        allowed.join(" or ")
                    )
                },
                field: Some("to".into()),
            });
        }
        let date = if to == "scheduled" {
            let text = input.date.as_deref().unwrap_or_default();
            let date = tandem_domain::pbx::schedule::CalendarDate::parse(text)
                .map_err(|e| AppError::field("date", e))?;
            let today = jiff::Timestamp::from_microsecond(now)
                .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date())
                .map_err(|e| AppError::Internal(e.to_string()))?;
            // A day's grace for accounts ahead of UTC, where tomorrow in UTC is already today.
            if date.date() < today.yesterday().unwrap_or(today) {
                return Err(AppError::field(
                    "date",
                    ValueError::new(
                        "date_in_past",
                        format!(
                            "{} has passed: give the date the carrier set for the port.",
                            date.as_string()
                        ),
                    ),
                ));
            }
            Some(date.as_string())
        } else {
            None
        };
        let reason = crate::validate::present(&input.reason)
            .map(|r| r.chars().take(500).collect::<String>());
        if to == "rejected" && reason.is_none() {
            return Err(AppError::field(
                "reason",
                ValueError::new("required", "Say why the carrier rejected the order."),
            ));
        }
        match to {
            "completed" => {
                let customer = store_customers::get(&mut tx, white_label_id, customer_id)
                    .await?
                    .ok_or(AppError::NotFound("customer account"))?;
                let mut plan = ChargePlan::new(&mut tx, &customer).await?;
                for e164 in &order.numbers {
                    if !store_numbers::complete_porting(&mut tx, customer_id, e164, now).await? {
                        return Err(AppError::Conflict {
                            code: "number_not_porting",
                            message: format!(
                                "{e164} is no longer being ported into this account, so the \
                                 order cannot complete: reject or cancel it"
                            ),
                            field: None,
                        });
                    }
                    let shown = PhoneNumber::parse_e164(e164)
                        .map(|n| n.format_international())
                        .unwrap_or_else(|_| e164.clone());
                    let description = format!(
                        "Number rental, {shown}, {} plan, {}",
                        plan.plan_name(),
                        plan.month(now)
                    );
                    let rental = plan.number_rental();
                    plan.add(rental, description);
                }
                plan.post(&mut tx, customer_id, actor.label(), now).await?;
            }
            "cancelled" | "rejected" => {
                let loaded = load(&mut tx, white_label_id, customer_id).await?;
                for e164 in &order.numbers {
                    if let Ok(number) = PhoneNumber::parse_e164(e164) {
                        caller_id_free(&loaded.config, &number)?;
                    }
                }
                for e164 in &order.numbers {
                    store_numbers::remove_porting(&mut tx, customer_id, e164).await?;
                }
            }
            _ => {}
        }
        if !store_ports::transition(
            &mut tx,
            id,
            &order.state,
            to,
            date.as_deref(),
            reason.as_deref(),
            now,
        )
        .await?
        {
            return Err(AppError::EditConflict {
                current: order.version + 1,
            });
        }
        record(
            &mut tx,
            now,
            &actor,
            Change {
                white_label_id: Some(white_label_id),
                customer_id: Some(customer_id),
                action: "port_order.transitioned",
                object_kind: "port_order",
                object_id: id.as_str(),
                before: Some(serde_json::json!({ "state": order.state })),
                after: Some(serde_json::json!({ "state": to, "date": date, "reason": reason })),
                ..Change::default()
            },
        )
        .await?;
        let order = store_ports::get(&mut tx, white_label_id, customer_id, id)
            .await?
            .ok_or(AppError::NotFound("port order"))?;
        tx.commit().await?;
        Ok(order)
    }
}

/// Refuses to take `number` from an account while one of its extensions shows it as caller
/// ID, listing those extensions.
fn caller_id_free(
    config: &tandem_domain::pbx::AccountConfig,
    number: &PhoneNumber,
) -> AppResult<()> {
    let users: Vec<String> = config
        .objects
        .iter()
        .filter(|o| {
            matches!(&o.settings, tandem_domain::pbx::ObjectSettings::Extension(ext)
                if ext.caller_id.as_deref() == Some(number.as_str()))
        })
        .map(|o| o.describe())
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    Err(AppError::Refused {
        code: "in_use",
        message: format!(
            "{} is the caller ID of {}: change their caller ID first",
            number.format_international(),
            users.join(", ")
        ),
        details: users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_and_quotes() {
        let lines = parse_numbers_csv(
            "number,country\n\"09 400 1234\",NZ\n+61 2 9876 5432,\n\nnot a number,NZ\n",
            "NZ",
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].number, "09 400 1234");
        assert_eq!(lines[0].line, 2);
        assert_eq!(lines[1].country, "NZ");
        assert_eq!(lines[2].line, 5);
    }

    #[test]
    fn csv_without_header_reads_first_column() {
        let lines = parse_numbers_csv("094001234\n094001235\n", "NZ");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].line, 1);
    }

    #[test]
    fn range_expands_and_is_bounded() {
        let nz = Country::parse("NZ").unwrap();
        let numbers = expand_range("09 400 1000", "09 400 1002", nz).unwrap();
        assert_eq!(numbers, vec!["+6494001000", "+6494001001", "+6494001002"]);
        assert!(expand_range("09 400 1002", "09 400 1000", nz).is_err());
        assert!(expand_range("09 400 0000", "09 409 9999", nz).is_err());
    }
}
