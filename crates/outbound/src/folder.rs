//! A transport that writes each mail as an `.eml` file, for development and demos.

use std::path::{Path, PathBuf};

use tandem_app::outbox::{DeliveryError, MailTransport, OutgoingMail};

use crate::message::build_message;

/// Writes each mail to `<folder>/<outbox id>.eml`. The file is written under a temporary name
/// and then renamed, so a reader never sees a half-written message.
#[derive(Debug, Clone)]
pub struct FolderTransport {
    folder: PathBuf,
}

impl FolderTransport {
    /// Creates a transport writing into `folder`, which is created when the first mail is
    /// written.
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
        }
    }

    /// Returns the folder mail is written to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

fn io_error(action: &str, path: &Path, error: std::io::Error) -> DeliveryError {
    DeliveryError::transient(format!("{action} {} failed: {error}", path.display()))
}

#[async_trait::async_trait]
impl MailTransport for FolderTransport {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        let safe_name = !mail.outbox_id.is_empty()
            && mail
                .outbox_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !safe_name {
            return Err(DeliveryError::permanent(format!(
                "outbox id '{}' cannot be a file name",
                mail.outbox_id
            )));
        }
        let bytes = build_message(mail)?.formatted();
        tokio::fs::create_dir_all(&self.folder)
            .await
            .map_err(|e| io_error("creating", &self.folder, e))?;
        let temporary = self.folder.join(format!(".{}.eml.tmp", mail.outbox_id));
        let target = self.folder.join(format!("{}.eml", mail.outbox_id));
        tokio::fs::write(&temporary, &bytes)
            .await
            .map_err(|e| io_error("writing", &temporary, e))?;
        tokio::fs::rename(&temporary, &target)
            .await
            .map_err(|e| io_error("renaming", &temporary, e))?;
        Ok(())
    }
}
