//! Customer accounts of a white label.

use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, PlanId, UserId, WhiteLabelId};

use crate::{flag, Backend, Conn, StoreResult};

/// A postal address as stored. A customer read decodes it from a JSON array, field by field in
/// the order declared here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AddressRow {
    pub line1: String,
    pub line2: Option<String>,
    pub suburb: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postcode: String,
    pub country: String,
}

/// A customer account as stored.
#[derive(Debug, Clone)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub white_label_id: WhiteLabelId,
    pub account_number: String,
    pub status: String,
    pub payer: String,
    pub creation_mode: String,
    pub plan_id: PlanId,
    pub plan_name: String,
    pub legal_name: String,
    pub trading_name: Option<String>,
    pub business_number: Option<String>,
    pub tax_number: Option<String>,
    pub contact_given_name: String,
    pub contact_family_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_job_title: Option<String>,
    pub billing_address: AddressRow,
    pub service_same_as_billing: bool,
    pub service_address: AddressRow,
    pub time_zone: String,
    pub currency: String,
    pub balance_minor: i64,
    pub credit_limit_minor: i64,
    /// Where a pending account is in activation; `None` once active or for managed accounts.
    pub activation_state: Option<String>,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
}

/// A customer account to insert; the caller has validated every field.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub id: CustomerId,
    pub white_label_id: WhiteLabelId,
    pub account_number: String,
    pub status: String,
    pub payer: String,
    pub creation_mode: String,
    pub plan_id: PlanId,
    pub legal_name: String,
    pub trading_name: Option<String>,
    pub business_number: Option<String>,
    pub tax_number: Option<String>,
    pub contact_given_name: String,
    pub contact_family_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_job_title: Option<String>,
    pub billing_address: AddressRow,
    pub service_same_as_billing: bool,
    pub service_address: AddressRow,
    pub time_zone: String,
    pub currency: String,
    pub activation_state: Option<String>,
    pub created_by: Option<UserId>,
}

/// A customer row as one JSON array, its fields in the order of [`WireCustomer`] and each
/// address as an array of its own, with the given expression for the plan's name. `$array` is
/// the engine's function that builds an array and `$text` turns its result into text.
///
/// Forty columns cost forty values on the way out of the driver. On SQLite each one is copied
/// out of the statement by the driver's thread, copied again into the `Any` driver's row and a
/// third time when decoded, and most copies allocate. One array of text is copied once at each
/// step, and parsing it costs less than the copies it replaces (docs/benchmarks.md).
macro_rules! customer_array {
    ($array:literal, $text:literal, $plan_name:literal) => {
        concat!(
            $array,
            "(c.id, c.white_label_id, c.account_number, c.status, c.payer, c.creation_mode, \
             c.plan_id, ",
            $plan_name,
            ", c.legal_name, c.trading_name, c.business_number, c.tax_number, \
             c.contact_given_name, c.contact_family_name, c.contact_email, c.contact_phone, \
             c.contact_job_title, ",
            $array,
            "(c.billing_line1, c.billing_line2, c.billing_suburb, c.billing_city, \
             c.billing_region, c.billing_postcode, c.billing_country), \
             c.service_same_as_billing, ",
            $array,
            "(c.service_line1, c.service_line2, c.service_suburb, c.service_city, \
             c.service_region, c.service_postcode, c.service_country), \
             c.time_zone, c.currency, c.balance_minor, c.credit_limit_minor, \
             c.activation_state, c.version, c.created_us, c.updated_us)",
            $text,
            " AS customer"
        )
    };
}

/// Returns the select list of a page of customers on `backend`. Its statements join `plans p`,
/// and PostgreSQL memoizes each plan's lookup in a nested loop, or hashes the small plans table.
fn list_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => customer_array!("json_array", "", "p.name"),
        Backend::Postgres => customer_array!("json_build_array", "::text", "p.name"),
    }
}

/// Returns the select list of one customer on `backend`, which reads the plan's name in a
/// subquery. Joined, PostgreSQL hashed the whole plans table for the one row, and the statement
/// took 0.127 ms against 0.108 ms with the subquery (pgbench, one client).
fn one_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => customer_array!(
            "json_array",
            "",
            "(SELECT p.name FROM plans p WHERE p.id = c.plan_id)"
        ),
        Backend::Postgres => customer_array!(
            "json_build_array",
            "::text",
            "(SELECT p.name FROM plans p WHERE p.id = c.plan_id)"
        ),
    }
}

/// A customer row as `customer_array!` writes it. serde reads a struct from a JSON array field
/// by field, in the order they are declared here.
#[derive(Deserialize)]
struct WireCustomer {
    id: String,
    white_label_id: String,
    account_number: String,
    status: String,
    payer: String,
    creation_mode: String,
    plan_id: String,
    plan_name: String,
    legal_name: String,
    trading_name: Option<String>,
    business_number: Option<String>,
    tax_number: Option<String>,
    contact_given_name: String,
    contact_family_name: String,
    contact_email: String,
    contact_phone: String,
    contact_job_title: Option<String>,
    billing_address: AddressRow,
    service_same_as_billing: i64,
    service_address: AddressRow,
    time_zone: String,
    currency: String,
    balance_minor: i64,
    credit_limit_minor: i64,
    activation_state: Option<String>,
    version: i64,
    created_us: i64,
    updated_us: i64,
}

/// Decodes a row selected with [`list_columns`] or [`one_columns`].
fn from_row(row: &AnyRow) -> StoreResult<CustomerRow> {
    let text: &str = row.try_get(0)?;
    let wire: WireCustomer =
        serde_json::from_str(text).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
    Ok(CustomerRow {
        id: CustomerId::from_trusted(wire.id),
        white_label_id: WhiteLabelId::from_trusted(wire.white_label_id),
        account_number: wire.account_number,
        status: wire.status,
        payer: wire.payer,
        creation_mode: wire.creation_mode,
        plan_id: PlanId::from_trusted(wire.plan_id),
        plan_name: wire.plan_name,
        legal_name: wire.legal_name,
        trading_name: wire.trading_name,
        business_number: wire.business_number,
        tax_number: wire.tax_number,
        contact_given_name: wire.contact_given_name,
        contact_family_name: wire.contact_family_name,
        contact_email: wire.contact_email,
        contact_phone: wire.contact_phone,
        contact_job_title: wire.contact_job_title,
        billing_address: wire.billing_address,
        service_same_as_billing: flag(wire.service_same_as_billing),
        service_address: wire.service_address,
        time_zone: wire.time_zone,
        currency: wire.currency,
        balance_minor: wire.balance_minor,
        credit_limit_minor: wire.credit_limit_minor,
        activation_state: wire.activation_state,
        version: wire.version,
        created_us: wire.created_us,
        updated_us: wire.updated_us,
    })
}

/// The case-folded form of a name, used for prefix search.
pub fn search_key(name: &str) -> String {
    name.to_lowercase()
}

/// Inserts a customer account created at `now_us`. Fails with `uq_customers_account_number` if
/// the number is taken.
pub async fn insert(conn: &mut Conn, customer: &NewCustomer, now_us: i64) -> StoreResult<()> {
    let sql = insert_statement(conn, 1, "");
    bind_customers(sqlx::query(&sql), &[(customer, now_us)])
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Inserts new customers, each with the time it was created, in one statement, and returns the
/// ids of those it skipped. A customer is skipped when its account number is already taken, by
/// an existing customer or by an earlier row of the same call. The statement does not fail, so
/// the caller can draw another number for it within the same transaction.
///
/// The statement returns no rows: when it inserts as many customers as it was given, nothing
/// was skipped. Otherwise a second statement finds which ids were not inserted. At 100,000
/// customers one random number in a hundred is taken, so about one batch of 15 in seven needs
/// the second statement. On SQLite each returned row would cost a hand-off from the driver's
/// thread, so the insert itself returns none.
pub async fn insert_unless_number_taken(
    conn: &mut Conn,
    customers: &[(&NewCustomer, i64)],
) -> StoreResult<Vec<CustomerId>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = insert_statement(
        conn,
        customers.len(),
        " ON CONFLICT (account_number) DO NOTHING",
    );
    let query = sqlx::query(&sql).persistent(crate::keep_prepared(conn, customers.len()));
    let inserted = bind_customers(query, customers)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if inserted == customers.len() as u64 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM customers WHERE id IN {}",
        crate::value_rows(conn, 1, customers.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql)
        .persistent(crate::keep_prepared(conn, customers.len()));
    for (customer, _) in customers {
        query = query.bind(customer.id.as_str());
    }
    let found: std::collections::HashSet<String> =
        query.fetch_all(&mut *conn).await?.into_iter().collect();
    Ok(customers
        .iter()
        .filter(|(customer, _)| !found.contains(customer.id.as_str()))
        .map(|(customer, _)| customer.id.clone())
        .collect())
}

/// The columns that an insert writes for each customer, in the order [`bind_customers`] binds
/// them.
const INSERT_COLUMNS: &str = "id, white_label_id, account_number, status, payer, creation_mode, \
    plan_id, legal_name, trading_name, business_number, tax_number, contact_given_name, \
    contact_family_name, contact_email, contact_phone, contact_job_title, billing_line1, \
    billing_line2, billing_suburb, billing_city, billing_region, billing_postcode, \
    billing_country, service_same_as_billing, service_line1, service_line2, service_suburb, \
    service_city, service_region, service_postcode, service_country, time_zone, currency, \
    legal_name_key, trading_name_key, created_by_user_id, activation_state, created_us, \
    updated_us";
const INSERT_COLUMN_COUNT: usize = 39;

/// Builds an `INSERT` of `rows` customers, followed by `tail`.
fn insert_statement(conn: &Conn, rows: usize, tail: &str) -> String {
    format!(
        "INSERT INTO customers ({INSERT_COLUMNS}) VALUES {}{tail}",
        crate::value_rows(conn, rows, INSERT_COLUMN_COUNT)
    )
}

/// Binds the values of `customers` to an insert from [`insert_statement`].
fn bind_customers<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    customers: &'q [(&NewCustomer, i64)],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for &(customer, now_us) in customers {
        let billing = &customer.billing_address;
        let service = &customer.service_address;
        query = query
            .bind(customer.id.as_str())
            .bind(customer.white_label_id.as_str())
            .bind(&customer.account_number)
            .bind(&customer.status)
            .bind(&customer.payer)
            .bind(&customer.creation_mode)
            .bind(customer.plan_id.as_str())
            .bind(&customer.legal_name)
            .bind(&customer.trading_name)
            .bind(&customer.business_number)
            .bind(&customer.tax_number)
            .bind(&customer.contact_given_name)
            .bind(&customer.contact_family_name)
            .bind(&customer.contact_email)
            .bind(&customer.contact_phone)
            .bind(&customer.contact_job_title)
            .bind(&billing.line1)
            .bind(&billing.line2)
            .bind(&billing.suburb)
            .bind(&billing.city)
            .bind(&billing.region)
            .bind(&billing.postcode)
            .bind(&billing.country)
            .bind(i64::from(customer.service_same_as_billing))
            .bind(&service.line1)
            .bind(&service.line2)
            .bind(&service.suburb)
            .bind(&service.city)
            .bind(&service.region)
            .bind(&service.postcode)
            .bind(&service.country)
            .bind(&customer.time_zone)
            .bind(&customer.currency)
            .bind(search_key(&customer.legal_name))
            .bind(customer.trading_name.as_deref().map(search_key))
            .bind(customer.created_by.as_ref().map(|u| u.as_str()))
            .bind(&customer.activation_state)
            .bind(now_us)
            .bind(now_us);
    }
    query
}

/// Returns which of `account_numbers` some customer already has, in one statement. For a caller
/// that holds SQLite's write lock, the result stays true until it commits. On PostgreSQL another
/// transaction may still insert one of the numbers before the caller does, and the caller's
/// insert then finds the number taken.
pub async fn account_numbers_in_use(
    conn: &mut Conn,
    account_numbers: &[&str],
) -> StoreResult<Vec<String>> {
    if account_numbers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT account_number FROM customers WHERE account_number IN {}",
        crate::value_rows(conn, 1, account_numbers.len())
    );
    let mut query =
        sqlx::query_scalar(&sql).persistent(crate::keep_prepared(conn, account_numbers.len()));
    for number in account_numbers {
        query = query.bind(*number);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

impl NewCustomer {
    /// Returns the row that [`insert`] stores for this customer at `now_us`, with the column
    /// defaults of the table (zero balance and credit limit, version 1), so that a caller need
    /// not read it back.
    pub fn inserted_row(&self, plan_name: &str, now_us: i64) -> CustomerRow {
        CustomerRow {
            id: self.id.clone(),
            white_label_id: self.white_label_id.clone(),
            account_number: self.account_number.clone(),
            status: self.status.clone(),
            payer: self.payer.clone(),
            creation_mode: self.creation_mode.clone(),
            plan_id: self.plan_id.clone(),
            plan_name: plan_name.to_string(),
            legal_name: self.legal_name.clone(),
            trading_name: self.trading_name.clone(),
            business_number: self.business_number.clone(),
            tax_number: self.tax_number.clone(),
            contact_given_name: self.contact_given_name.clone(),
            contact_family_name: self.contact_family_name.clone(),
            contact_email: self.contact_email.clone(),
            contact_phone: self.contact_phone.clone(),
            contact_job_title: self.contact_job_title.clone(),
            billing_address: self.billing_address.clone(),
            service_same_as_billing: self.service_same_as_billing,
            service_address: self.service_address.clone(),
            time_zone: self.time_zone.clone(),
            currency: self.currency.clone(),
            balance_minor: 0,
            credit_limit_minor: 0,
            activation_state: self.activation_state.clone(),
            version: 1,
            created_us: now_us,
            updated_us: now_us,
        }
    }
}

/// Returns the statement of [`get`] on `backend`, whose parameters are the customer and white
/// label ids. It is built once, not on every read.
pub fn get_statement(backend: Backend) -> &'static str {
    static STATEMENTS: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        [Backend::Sqlite, Backend::Postgres].map(|backend| {
            format!(
                "SELECT {} FROM customers c WHERE c.id = $1 AND c.white_label_id = $2",
                one_columns(backend)
            )
        })
    });
    &STATEMENTS[usize::from(backend == Backend::Postgres)]
}

/// Reads one customer account of a white label.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &CustomerId,
) -> StoreResult<Option<CustomerRow>> {
    let row = sqlx::query(get_statement(Backend::of(conn)))
        .bind(id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The maximum number of customers that one [`get_many`] statement reads. It is a power of two,
/// because [`get_many_statement`] keeps one statement for each power of two up to it.
pub const GET_MANY_MAX: usize = 32;
const _: () = assert!(GET_MANY_MAX.is_power_of_two());

/// Returns the statement that [`get_many`] runs for `count` customers on `backend`. Its
/// parameters are pairs of a customer's id and its white label's id. `count` is rounded up to a
/// power of two, at most [`GET_MANY_MAX`], so that each connection prepares at most six of these
/// statements.
pub fn get_many_statement(backend: Backend, count: usize) -> &'static str {
    const SIZES: usize = GET_MANY_MAX.trailing_zeros() as usize + 1;
    static STATEMENTS: std::sync::LazyLock<[[String; SIZES]; 2]> = std::sync::LazyLock::new(|| {
        [Backend::Sqlite, Backend::Postgres].map(|backend| {
            std::array::from_fn(|size| {
                let pairs = crate::value_rows_for(backend == Backend::Postgres, 1 << size, 2);
                format!(
                    "SELECT {} FROM (VALUES {pairs}) AS requested \
                     JOIN customers c \
                     ON c.id = requested.column1 AND c.white_label_id = requested.column2",
                    one_columns(backend)
                )
            })
        })
    });
    let size = count
        .clamp(1, GET_MANY_MAX)
        .next_power_of_two()
        .trailing_zeros() as usize;
    &STATEMENTS[usize::from(backend == Backend::Postgres)][size]
}

/// Reads, in one statement, the customers named by `requested`: pairs of a white label and the id
/// of one of its customers, at most [`GET_MANY_MAX`] of them. A pair whose customer belongs to
/// another white label, or does not exist, has no row in the result. The rows come in no
/// particular order, and a pair given twice has its row twice.
pub async fn get_many(
    conn: &mut Conn,
    requested: &[(&WhiteLabelId, &CustomerId)],
) -> StoreResult<Vec<CustomerRow>> {
    let Some(last) = requested.last() else {
        return Ok(Vec::new());
    };
    assert!(
        requested.len() <= GET_MANY_MAX,
        "get_many reads at most {GET_MANY_MAX} customers, not {}",
        requested.len()
    );
    let count = requested.len().next_power_of_two();
    let mut query = sqlx::query(get_many_statement(Backend::of(conn), count));
    // The statement's list is padded to a power of two with the last pair again, so that pair's
    // row may come more than once.
    for (white_label_id, id) in requested.iter().chain(std::iter::repeat(last)).take(count) {
        query = query.bind(id.as_str()).bind(white_label_id.as_str());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// A name prefix (legal or trading name, any case) or the leading digits of an account
    /// number.
    pub search: Option<String>,
    pub status: Option<String>,
    /// Keyset cursor: the `(created_us, id)` of the last row of the previous page.
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

/// A value bound to a statement that [`list_statement`] builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Integer(i64),
}

/// Builds the statement of [`list`] on `backend` and its parameters, so that its query plan can
/// be checked with the same text the product runs.
pub fn list_statement(
    backend: Backend,
    white_label_id: &WhiteLabelId,
    filter: &CustomerFilter,
) -> (String, Vec<Param>) {
    let mut sql = format!(
        "SELECT {} FROM customers c JOIN plans p ON p.id = c.plan_id \
         WHERE c.white_label_id = $1",
        list_columns(backend)
    );
    let mut params = vec![Param::Text(white_label_id.as_str().to_string())];
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let a = params.len() + 1;
        let b = a + 1;
        let digits: String = search.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            sql.push_str(&format!(
                " AND c.account_number >= ${a} AND c.account_number < ${b}"
            ));
            params.push(Param::Text(digits.clone()));
            params.push(Param::Text(format!("{digits}\u{7f}")));
        } else {
            let key = search_key(search);
            sql.push_str(&format!(
                " AND ((c.legal_name_key >= ${a} AND c.legal_name_key < ${b}) \
                 OR (c.trading_name_key >= ${a} AND c.trading_name_key < ${b}))"
            ));
            params.push(Param::Text(key.clone()));
            params.push(Param::Text(format!("{key}\u{10ffff}")));
        }
    }
    if let Some(status) = &filter.status {
        sql.push_str(&format!(" AND c.status = ${}", params.len() + 1));
        params.push(Param::Text(status.clone()));
    }
    if let Some((created_us, id)) = &filter.after {
        let a = params.len() + 1;
        let b = a + 1;
        // A row-value comparison lets both engines start the index range at the cursor.
        sql.push_str(&format!(" AND (c.created_us, c.id) < (${a}, ${b})"));
        params.push(Param::Integer(*created_us));
        params.push(Param::Text(id.clone()));
    }
    sql.push_str(&format!(
        " ORDER BY c.created_us DESC, c.id DESC LIMIT {}",
        filter.limit
    ));
    (sql, params)
}

/// Lists a white label's customers newest first, one page at a time.
pub async fn list(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    filter: &CustomerFilter,
) -> StoreResult<Vec<CustomerRow>> {
    let (sql, params) = list_statement(Backend::of(conn), white_label_id, filter);
    let mut query = sqlx::query(&sql);
    for param in &params {
        query = match param {
            Param::Text(text) => query.bind(text),
            Param::Integer(value) => query.bind(*value),
        };
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Counts a white label's customers by status.
pub async fn count_by_status(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
) -> StoreResult<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM customers WHERE white_label_id = $1 GROUP BY status \
         ORDER BY status",
    )
    .bind(white_label_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
        .collect()
}

/// Whether an account number is already taken, on any white label.
pub async fn account_number_exists(conn: &mut Conn, account_number: &str) -> StoreResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM customers WHERE account_number = $1")
            .bind(account_number)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Moves a customer from one status to another; returns false if it was not in `from`.
pub async fn transition(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &CustomerId,
    from: &str,
    to: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE customers SET status = $1, version = version + 1, updated_us = $2 \
         WHERE id = $3 AND white_label_id = $4 AND status = $5",
    )
    .bind(to)
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets where a pending account is in activation (`None` when it no longer applies).
pub async fn set_activation_state(
    conn: &mut Conn,
    id: &CustomerId,
    state: Option<&str>,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE customers SET activation_state = $1, updated_us = $2 WHERE id = $3")
        .bind(state)
        .bind(now_us)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces the authorised contact's email.
pub async fn set_contact_email(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &CustomerId,
    email: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE customers SET contact_email = $1, version = version + 1, updated_us = $2 \
         WHERE id = $3 AND white_label_id = $4",
    )
    .bind(email)
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Changes who pays the account's charges, and the mode that records how it was set up.
pub async fn set_payer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &CustomerId,
    payer: &str,
    creation_mode: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE customers SET payer = $1, creation_mode = $2, version = version + 1, \
         updated_us = $3 WHERE id = $4 AND white_label_id = $5",
    )
    .bind(payer)
    .bind(creation_mode)
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
