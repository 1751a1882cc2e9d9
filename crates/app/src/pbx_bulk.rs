//! Bulk loading of extensions into one account, such as the phones of a customer moving from
//! another platform.
//!
//! [`App::import_extensions`] saves each row in its own transaction, so it reloads and
//! rechecks the whole account once per row. A bulk import takes the account's lock once,
//! checks every row against the configuration in memory, checks the resulting configuration
//! once and writes all rows in one transaction with multi-row inserts. Rows that fail their
//! own checks are reported and left out. The others are all saved, or none are when a later
//! step fails, such as the payer's balance check.

use std::collections::HashMap;

use tandem_domain::pbx::{ObjectKind, PbxObject, ShortNumber};
use tandem_domain::{Permission, ValueError};
use tandem_store::pbx::{NewObject, SipCredentialRow};
use tandem_store::pbx_bulk::{self as store_bulk, BATCH_ROWS};
use tandem_store::sip::{self as store_sip, change};

use crate::access::{AccountOperator, PlatformAdmin};
use crate::audit::{record, Change};
use crate::charges::ChargePlan;
use crate::numbers::RejectedLine;
use crate::pbx::{
    audit_json, build, check_password, config_rejected, credential, extension_rows,
    generate_password, load, lock, may_charge, require_open, stored, ExtensionRow,
    ImportedExtension, Loaded, MAX_OBJECTS,
};
use crate::{App, AppError, AppResult};

/// Whether a bulk import accepts SIP passwords that fail the strength rules (at least 10
/// characters with letters and digits, not containing the extension number).
#[derive(Debug, Clone, Copy)]
pub enum WeakPasswords<'a> {
    Reject,
    /// Accepts them, for the platform operator moving phones whose passwords cannot change
    /// at once. Passwords with control characters or colons, or longer than 128 characters,
    /// are still rejected.
    Accept(&'a PlatformAdmin),
}

/// The outcome of a bulk import.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BulkImport {
    pub created: Vec<ImportedExtension>,
    pub rejected: Vec<RejectedLine>,
    /// How many of the created extensions were given a password that fails the strength
    /// rules, accepted under [`WeakPasswords::Accept`].
    pub weak_passwords: usize,
    /// The total charged for extensions beyond the plan's included count, tax included, in
    /// minor units.
    pub charged_minor: i64,
}

/// An extension that passed its checks, waiting to be written.
struct Accepted {
    line: usize,
    object: PbxObject,
    password: String,
    generated: bool,
    /// The index of its charge among the charge plan's items, when it is charged.
    charge: Option<usize>,
}

/// Checks a given password, or generates one; returns the password and whether it was
/// accepted although weak.
fn password_of(
    given: Option<&str>,
    username: &str,
    weak: WeakPasswords<'_>,
) -> Result<(String, bool), ValueError> {
    let Some(given) = given else {
        return Ok((generate_password(), false));
    };
    match check_password(given, username) {
        Ok(password) => Ok((password, false)),
        Err(error) if error.code == "weak_password" && matches!(weak, WeakPasswords::Accept(_)) => {
            // `check_password` checks these limits only after its strength rules.
            let password = given.trim();
            if password.len() > 128 || password.chars().any(|c| c.is_control() || c == ':') {
                return Err(ValueError::new(
                    "invalid_password",
                    "A SIP password is at most 128 characters without control characters or \
                     colons.",
                ));
            }
            Ok((password.to_owned(), true))
        }
        Err(error) => Err(error),
    }
}

fn rejected(row: &ExtensionRow, reason: String) -> RejectedLine {
    RejectedLine {
        line: row.line,
        input: row.input.number.clone(),
        reason,
    }
}

impl App {
    /// Imports many extensions into one account in one transaction from CSV text (see
    /// [`extension_rows`] for the columns), calling `progress(done, total)` as rows are written.
    /// Rows that fail their checks are reported in [`BulkImport::rejected`]; extensions
    /// beyond the plan's included count are charged as [`App::create_pbx_object`] charges
    /// them.
    pub async fn bulk_import_extensions(
        &self,
        op: &AccountOperator,
        text: &str,
        weak: WeakPasswords<'_>,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> AppResult<BulkImport> {
        op.require(Permission::ManagePbx)?;
        let rows = extension_rows(text);
        if rows.len() > MAX_OBJECTS {
            return Err(AppError::field(
                "file",
                ValueError::new(
                    "too_many_rows",
                    format!(
                        "The file has {} rows, more than an account's {MAX_OBJECTS} PBX \
                         objects: split it.",
                        rows.len()
                    ),
                ),
            ));
        }

        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        lock(&mut tx, op).await?;
        let Loaded {
            customer,
            mut config,
            ..
        } = load(&mut tx, op.white_label_id(), op.customer_id()).await?;
        require_open(&customer)?;
        let members =
            crate::team::account_user_ids(&mut tx, op.white_label_id(), op.customer_id()).await?;
        let domain = self.account_sip_view(&mut tx, &customer).await?.domain;
        let mut plan = ChargePlan::new(&mut tx, &customer).await?;

        let mut report = BulkImport::default();
        let mut accepted: Vec<Accepted> = Vec::new();
        // Short number to position in `config.objects`, for existing and accepted objects.
        let mut holders: HashMap<String, usize> = config
            .objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.short_number.as_ref().map(|n| (n.as_str().to_owned(), i)))
            .collect();
        let mut extensions = config
            .objects
            .iter()
            .filter(|o| o.settings.kind() == ObjectKind::Extension)
            .count() as i64;
        let month = plan.month(now);
        let mut charged_rows = 0;

        for row in &rows {
            if config.objects.len() >= MAX_OBJECTS {
                report.rejected.push(rejected(
                    row,
                    format!("an account can have at most {MAX_OBJECTS} PBX objects"),
                ));
                continue;
            }
            let (short_number, name, settings) =
                match build(ObjectKind::Extension, &row.input, &config, &members) {
                    Ok(built) => built,
                    Err(AppError::Invalid(errors)) => {
                        let reason = errors
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ");
                        report.rejected.push(rejected(row, reason));
                        continue;
                    }
                    Err(other) => return Err(other),
                };
            let number = short_number
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default();
            let number = number.as_str();
            if let Some(&holder) = holders.get(number) {
                report.rejected.push(rejected(
                    row,
                    format!(
                        "{number} is already the number of {}: choose another number",
                        config.objects[holder].describe()
                    ),
                ));
                continue;
            }
            let (password, weak_accepted) =
                match password_of(row.input.sip_password.as_deref(), number, weak) {
                    Ok(checked) => checked,
                    Err(error) => {
                        report
                            .rejected
                            .push(rejected(row, format!("sip_password: {}", error.message)));
                        continue;
                    }
                };

            let object = PbxObject {
                id: tandem_domain::PbxObjectId::new(),
                short_number,
                name,
                settings,
                version: 1,
            };
            extensions += 1;
            let mut charge = None;
            if extensions > plan.included_extensions() && plan.extra_extension_fee() != 0 {
                charge = Some(charged_rows);
                charged_rows += 1;
                plan.add(
                    plan.extra_extension_fee(),
                    format!(
                        "Extra extension {number} ({extensions} of {} included), {} plan, \
                         {month}",
                        plan.included_extensions(),
                        plan.plan_name(),
                    ),
                );
            }
            report.weak_passwords += usize::from(weak_accepted);
            holders.insert(number.to_owned(), config.objects.len());
            config.objects.push(object.clone());
            accepted.push(Accepted {
                line: row.line,
                object,
                generated: row.input.sip_password.is_none(),
                password,
                charge,
            });
        }

        config.check().map_err(config_rejected)?;
        may_charge(op, &customer, &plan)?;
        self.write_bulk(&mut tx, op, &accepted, &domain, now, progress)
            .await?;
        if !accepted.is_empty() {
            store_sip::record_change(&mut tx, change::ACCOUNT, op.customer_id().as_str(), now)
                .await?;
        }
        let charges = plan
            .post(&mut tx, op.customer_id(), op.actor().label(), now)
            .await?;
        tx.commit().await?;

        report.charged_minor = charges.total_minor;
        report.created = accepted
            .into_iter()
            .map(|a| ImportedExtension {
                line: a.line,
                number: a
                    .object
                    .short_number
                    .as_ref()
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_default(),
                id: a.object.id,
                sip_password: a.generated.then_some(a.password),
                charged_minor: a
                    .charge
                    .and_then(|i| charges.items.get(i))
                    .map_or(0, |item| item.amount_minor + item.tax_minor),
            })
            .collect();
        Ok(report)
    }

    /// Writes the accepted extensions, their credentials and their audit entries in batches.
    async fn write_bulk(
        &self,
        conn: &mut tandem_store::Conn,
        op: &AccountOperator,
        accepted: &[Accepted],
        domain: &str,
        now: i64,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> AppResult<()> {
        let mut done = 0;
        progress(done, accepted.len());
        for batch in accepted.chunks(BATCH_ROWS) {
            let settings = batch
                .iter()
                .map(|a| serde_json::to_string(&a.object.settings).map_err(stored))
                .collect::<AppResult<Vec<_>>>()?;
            let objects: Vec<NewObject<'_>> = batch
                .iter()
                .zip(&settings)
                .map(|(a, settings)| NewObject {
                    id: &a.object.id,
                    white_label_id: op.white_label_id(),
                    customer_id: op.customer_id(),
                    kind: ObjectKind::Extension.as_str(),
                    short_number: a.object.short_number.as_ref().map(ShortNumber::as_str),
                    name: &a.object.name,
                    settings,
                })
                .collect();
            let inserted = store_bulk::insert_objects(conn, &objects, now).await?;
            if inserted != batch.len() as u64 {
                return Err(AppError::Internal(
                    "short number or id taken under the account lock".into(),
                ));
            }

            let credentials: Vec<SipCredentialRow> = batch
                .iter()
                .map(|a| {
                    let username = a.object.short_number.as_ref().map(ShortNumber::as_str);
                    credential(
                        &a.object.id,
                        username.unwrap_or_default(),
                        domain,
                        &a.password,
                        now,
                    )
                })
                .collect();
            store_bulk::insert_credentials(conn, op.customer_id(), &credentials).await?;

            for a in batch {
                record(
                    conn,
                    now,
                    op.actor(),
                    Change {
                        white_label_id: Some(op.white_label_id()),
                        customer_id: Some(op.customer_id()),
                        on_behalf_of: None,
                        action: "pbx.created",
                        object_kind: ObjectKind::Extension.as_str(),
                        object_id: a.object.id.as_str(),
                        before: None,
                        after: Some(audit_json(&a.object)),
                        reason: None,
                    },
                )
                .await?;
            }
            done += batch.len();
            progress(done, accepted.len());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_with_and_without_header() {
        let with = extension_rows("name,number,password\nAna,1000,pw1000\n");
        assert_eq!(with.len(), 1);
        assert_eq!(with[0].input.number, "1000");
        assert_eq!(with[0].input.name, "Ana");
        assert_eq!(with[0].input.sip_password.as_deref(), Some("pw1000"));
        assert_eq!(with[0].line, 2);

        let without = extension_rows("1001,Ben\n");
        assert_eq!(without[0].input.number, "1001");
        assert_eq!(without[0].input.sip_password, None);
    }

    #[test]
    fn weak_password_needs_allowance() {
        let admin = PlatformAdmin::command_line();
        let refused = password_of(Some("pw1000"), "1000", WeakPasswords::Reject);
        assert_eq!(refused.unwrap_err().code, "weak_password");

        let accepted = password_of(Some("pw1000"), "1000", WeakPasswords::Accept(&admin));
        assert_eq!(accepted.unwrap(), ("pw1000".to_owned(), true));

        let colon = password_of(Some("pw:1"), "1000", WeakPasswords::Accept(&admin));
        assert_eq!(colon.unwrap_err().code, "invalid_password");
    }

    #[test]
    fn missing_password_is_generated() {
        let (password, weak) = password_of(None, "1000", WeakPasswords::Reject).unwrap();
        assert_eq!(password.len(), 20);
        assert!(!weak);
    }
}
