//! IVR menus, whose form is multipart because it may carry a recording, and the reading of
//! multipart forms, which the extension import shares.

use axum::extract::{Multipart, Path, State};
use axum::response::Response;
use tandem_app::pbx::{ObjectView, MAX_RECORDING_BYTES};
use tandem_app::{AppError, FieldError};

use super::fields::{Labels, Values};
use super::{form_with_error, load_object, save, PbxPortal};
use crate::portal::forms::{csrf_failure, tokens_match, CSRF_FIELD};
use crate::AppState;

/// A file sent with a multipart form.
pub(super) struct UploadedFile {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A multipart form as read: its text fields, the file of `file_field` when one was chosen,
/// and whether reading stopped early (the body was larger than the route's limit, or
/// malformed).
pub(super) struct Upload {
    pub values: Values,
    pub file: Option<UploadedFile>,
    pub incomplete: bool,
}

impl Upload {
    /// Reads a multipart form, keeping what was read before any error.
    pub async fn read(mut multipart: Multipart, file_field: &str) -> Self {
        let mut upload = Upload {
            values: Values::new(),
            file: None,
            incomplete: false,
        };
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => {
                    tracing::info!(%error, "multipart form not read to the end");
                    upload.incomplete = true;
                    break;
                }
            };
            let name = field.name().unwrap_or("").to_owned();
            if name != file_field && field.file_name().is_some() {
                // A file the form does not ask for.
                continue;
            }
            if name == file_field {
                let file_name = field.file_name().unwrap_or("").to_owned();
                let content_type = field.content_type().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(bytes) if !bytes.is_empty() => {
                        upload.file = Some(UploadedFile {
                            file_name,
                            content_type,
                            bytes: bytes.to_vec(),
                        });
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::info!(%error, "uploaded file not read to the end");
                        upload.incomplete = true;
                        break;
                    }
                }
            } else {
                match field.text().await {
                    Ok(text) => {
                        upload.values.insert(name, text);
                    }
                    Err(error) => {
                        tracing::info!(%error, "multipart form field not read");
                        upload.incomplete = true;
                        break;
                    }
                }
            }
        }
        upload
    }

    /// Checks that the form carried the session's CSRF token.
    pub fn csrf_matches(&self, portal: &PbxPortal) -> bool {
        let sent = self.values.get(CSRF_FIELD).map_or("", String::as_str);
        tokens_match(sent, &portal.session.csrf_token)
    }
}

/// Creates or updates an IVR menu: stores the uploaded recording first, when one was sent,
/// and makes it the greeting of the menu saved.
async fn save_ivr_menu(
    state: &AppState,
    portal: &PbxPortal,
    object: Option<&ObjectView>,
    multipart: Multipart,
) -> Response {
    let upload = Upload::read(multipart, "greeting_file").await;
    if !upload.incomplete && !upload.csrf_matches(portal) {
        return csrf_failure();
    }
    let mut values = upload.values;
    values.remove(CSRF_FIELD);
    let limit_mb = MAX_RECORDING_BYTES / (1024 * 1024);
    if upload.incomplete {
        let error = AppError::Invalid(vec![FieldError::custom(
            "greeting_file",
            "upload_failed",
            format!(
                "The upload could not be read in full. A recording is a WAV, MP3 or Ogg file \
                 of at most {limit_mb} MB: choose a smaller file and send the form again."
            ),
        )]);
        return form_with_error(state, portal, object, values, error, &Labels::default()).await;
    }
    if let Some(file) = upload.file {
        let stored = state
            .app
            .upload_recording(&portal.op, &file.file_name, &file.content_type, file.bytes)
            .await;
        match stored {
            Ok(id) => {
                values.insert("greeting".into(), "recording".into());
                values.insert("greeting_recording".into(), id.to_string());
            }
            Err(error) => {
                let labels = Labels::default();
                return form_with_error(state, portal, object, values, error, &labels).await;
            }
        }
    }
    save(state, portal, object, values).await
}

pub(super) async fn create_ivr_menu(
    State(state): State<AppState>,
    portal: PbxPortal,
    multipart: Multipart,
) -> Response {
    save_ivr_menu(&state, &portal, None, multipart).await
}

pub(super) async fn update_ivr_menu(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    portal: PbxPortal,
    multipart: Multipart,
) -> Response {
    let view = match load_object(&state, &portal, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    save_ivr_menu(&state, &portal, Some(&view), multipart).await
}
