//! The fresh database of one run: a SQLite file in a new temporary folder, or a new database on
//! a PostgreSQL server on this machine. [`FreshDatabase::remove`] deletes it again.

use std::path::PathBuf;

use anyhow::{bail, Context};
use rand::Rng;
use sqlx::Connection;
use tandem_store::{Backend, Store};

/// A database created for one run, and what removing it takes.
pub struct FreshDatabase {
    /// The URL the server and the insert phase open.
    pub url: String,
    /// The folder of the SQLite file. The server's settings need one for PostgreSQL too.
    pub data_dir: PathBuf,
    cleanup: Cleanup,
}

enum Cleanup {
    RemoveFolder(PathBuf),
    DropDatabase {
        admin_url: String,
        name: String,
    },
    /// A database that an earlier run kept, which this run leaves in place. Only the temporary
    /// folder that a PostgreSQL run makes for the server's data is removed.
    Leave {
        temporary_dir: Option<PathBuf>,
    },
}

fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}

impl FreshDatabase {
    /// Creates a new SQLite file in a temporary folder, or, with `postgres_url`, a new database
    /// on that server.
    pub async fn create(postgres_url: Option<&str>) -> anyhow::Result<FreshDatabase> {
        let data_dir = std::env::temp_dir().join(format!("tandem-bench-{}", random_suffix()));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating the temporary folder {}", data_dir.display()))?;
        let Some(admin_url) = postgres_url else {
            let url = format!("sqlite://{}", data_dir.join("tandem.db").display());
            return Ok(FreshDatabase {
                url,
                cleanup: Cleanup::RemoveFolder(data_dir.clone()),
                data_dir,
            });
        };
        require_local_postgres(admin_url)?;
        let name = format!("tandem_bench_{}", random_suffix());
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(admin_url)
            .await
            .with_context(|| {
                format!(
                    "connecting to {} to create the benchmark database",
                    tandem_store::redact_url(admin_url)
                )
            })?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating the database {name}"))?;
        conn.close().await.ok();
        Ok(FreshDatabase {
            url: with_database_name(admin_url, &name)?,
            data_dir,
            cleanup: Cleanup::DropDatabase {
                admin_url: admin_url.to_string(),
                name,
            },
        })
    }

    /// Opens a database that an earlier run kept (`--keep`), which [`FreshDatabase::remove`]
    /// then leaves in place. A SQLite URL names the file, a PostgreSQL URL the database.
    pub fn kept(url: &str) -> anyhow::Result<FreshDatabase> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let file = std::path::Path::new(path.split('?').next().unwrap_or(path));
            if !file.is_file() {
                bail!("no kept database at {url}: give the URL that --keep printed");
            }
            return Ok(FreshDatabase {
                url: url.to_string(),
                data_dir: file.parent().map(PathBuf::from).unwrap_or_default(),
                cleanup: Cleanup::Leave {
                    temporary_dir: None,
                },
            });
        }
        require_local_postgres(url)?;
        let data_dir = std::env::temp_dir().join(format!("tandem-bench-{}", random_suffix()));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating the temporary folder {}", data_dir.display()))?;
        Ok(FreshDatabase {
            url: url.to_string(),
            cleanup: Cleanup::Leave {
                temporary_dir: Some(data_dir.clone()),
            },
            data_dir,
        })
    }

    /// Keeps the database for later runs. A PostgreSQL database's temporary folder contains
    /// nothing that a later run reads, so it is removed.
    pub fn keep(self) {
        if let Cleanup::DropDatabase { .. } = self.cleanup {
            std::fs::remove_dir_all(&self.data_dir).ok();
        }
    }

    /// Returns the administrative URL and the database name when the database is on PostgreSQL.
    pub fn postgres(&self) -> Option<(&str, &str)> {
        match &self.cleanup {
            Cleanup::DropDatabase { admin_url, name } => Some((admin_url, name)),
            Cleanup::RemoveFolder(_) | Cleanup::Leave { .. } => None,
        }
    }

    /// Deletes the SQLite folder or drops the PostgreSQL database, unless the database is a kept
    /// one. Close every pool on it first.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self.cleanup {
            Cleanup::Leave { temporary_dir } => {
                if let Some(dir) = temporary_dir {
                    std::fs::remove_dir_all(&dir).ok();
                }
                Ok(())
            }
            Cleanup::RemoveFolder(dir) => std::fs::remove_dir_all(&dir)
                .with_context(|| format!("removing the temporary folder {}", dir.display())),
            Cleanup::DropDatabase { admin_url, name } => {
                std::fs::remove_dir_all(&self.data_dir).ok();
                let mut conn = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .context("connecting to drop the benchmark database")?;
                // A backend of a pool that just closed may still be connected, and a plain DROP
                // then fails. FORCE (PostgreSQL 13 and later) ends such sessions first.
                sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .with_context(|| {
                        format!("dropping the database {name}: drop it by hand with psql")
                    })?;
                conn.close().await.ok();
                Ok(())
            }
        }
    }
}

/// Describes the engine and its version, such as "PostgreSQL 15.2".
pub async fn describe(store: &Store) -> anyhow::Result<String> {
    let (name, sql) = match store.backend() {
        Backend::Sqlite => ("SQLite", "SELECT sqlite_version()"),
        Backend::Postgres => ("PostgreSQL", "SHOW server_version"),
    };
    let version: String = sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .context("reading the database version")?;
    Ok(format!("{name} {version}"))
}

/// Rejects a PostgreSQL URL whose host is not this machine, because a run creates and drops a
/// database and must not load any other machine.
fn require_local_postgres(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        bail!(
            "--database-url must be a postgres:// URL (SQLite is the default and needs none), \
             not {}",
            tandem_store::redact_url(url)
        );
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let query = rest.split_once('?').map_or("", |(_, query)| query);
    let names_host = query.split('&').any(|param| param.starts_with("host"));
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let loopback = matches!(host, "127.0.0.1" | "::1" | "localhost");
    if !loopback || names_host {
        bail!(
            "--database-url must name a PostgreSQL server on this machine (host 127.0.0.1, \
             ::1 or localhost, no host parameter), not {}",
            tandem_store::redact_url(url)
        );
    }
    Ok(())
}

/// Replaces the database name of a PostgreSQL URL, keeping its query string.
fn with_database_name(url: &str, name: &str) -> anyhow::Result<String> {
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url, None),
    };
    let scheme_end = path.find("://").map_or(0, |i| i + 3);
    let base = match path[scheme_end..].find('/') {
        Some(slash) => &path[..scheme_end + slash],
        None => path,
    };
    if base.len() <= scheme_end {
        bail!(
            "--database-url names no host: {}",
            tandem_store::redact_url(url)
        );
    }
    Ok(match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_postgres_accepted() {
        assert!(require_local_postgres("postgres://postgres@127.0.0.1:5432/postgres").is_ok());
        assert!(require_local_postgres("postgresql://u:p@localhost/db").is_ok());
        assert!(require_local_postgres("postgres://u@[::1]:5432/db").is_ok());
    }

    #[test]
    fn remote_postgres_rejected() {
        assert!(require_local_postgres("postgres://u@db.example:5432/db").is_err());
        assert!(require_local_postgres("postgres://u@127.0.0.1/db?host=10.0.0.1").is_err());
        assert!(require_local_postgres("sqlite://x.db").is_err());
    }

    #[test]
    fn database_name_replaced() {
        assert_eq!(
            with_database_name("postgres://u@127.0.0.1:5432/postgres", "b").unwrap(),
            "postgres://u@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database_name("postgres://u@127.0.0.1/postgres?sslmode=disable", "b").unwrap(),
            "postgres://u@127.0.0.1/b?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://u@127.0.0.1", "b").unwrap(),
            "postgres://u@127.0.0.1/b"
        );
    }
}
