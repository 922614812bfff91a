//! An object being written in parts: an S3 multipart upload, or a file on a
//! volume under its `.partial` name.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use aws_sdk_s3::{
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use aws_smithy_types::error::display::DisplayErrorContext;
use bytes::Bytes;
use tokio::{io::AsyncWriteExt, task::JoinHandle};

use super::{PARTIAL, io_error, s3_error};
use crate::backup::agent::AgentError;

pub(super) fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(PARTIAL);
    PathBuf::from(name)
}

/// An object being written.
pub enum Upload {
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        key: String,
        upload_id: String,
        parts: Arc<Mutex<Vec<CompletedPart>>>,
    },
    File {
        path: PathBuf,
        partial: PathBuf,
        file: Arc<tokio::sync::Mutex<tokio::fs::File>>,
    },
}

impl Upload {
    /// Sends part `number` (from 1) in the background; the caller awaits it
    /// before sending the next, so at most one part is in flight.
    pub fn send_part(&self, number: i32, body: Bytes) -> JoinHandle<Result<(), AgentError>> {
        match self {
            Upload::S3 {
                client,
                bucket,
                key,
                upload_id,
                parts,
            } => {
                let (client, bucket, key, upload_id, parts) = (
                    client.clone(),
                    bucket.clone(),
                    key.clone(),
                    upload_id.clone(),
                    parts.clone(),
                );
                tokio::spawn(async move {
                    let uploaded = client
                        .upload_part()
                        .bucket(bucket)
                        .key(&key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .body(ByteStream::from(body))
                        .send()
                        .await
                        .map_err(|e| s3_error(&format!("uploading part {number} of"), &key, e))?;
                    parts.lock().expect("parts").push(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(uploaded.e_tag().map(String::from))
                            .build(),
                    );
                    Ok(())
                })
            }
            Upload::File { partial, file, .. } => {
                let (partial, file) = (partial.clone(), file.clone());
                tokio::spawn(async move {
                    file.lock()
                        .await
                        .write_all(&body)
                        .await
                        .map_err(|e| io_error("writing", &partial, e))
                })
            }
        }
    }

    /// Makes the object visible, whole.
    pub async fn complete(self) -> Result<(), AgentError> {
        match self {
            Upload::S3 {
                client,
                bucket,
                key,
                upload_id,
                parts,
            } => {
                let mut parts = std::mem::take(&mut *parts.lock().expect("parts"));
                parts.sort_by_key(|p| p.part_number());
                client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(&key)
                    .upload_id(upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| s3_error("completing the upload of", &key, e))
            }
            Upload::File {
                path,
                partial,
                file,
            } => {
                let mut file = file.lock().await;
                file.flush()
                    .await
                    .map_err(|e| io_error("writing", &partial, e))?;
                file.sync_all()
                    .await
                    .map_err(|e| io_error("syncing", &partial, e))?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(|e| io_error("renaming", &partial, e))
            }
        }
    }

    /// Throws the parts away; best effort (a killed run's leftovers are
    /// aborted by the next run).
    pub async fn abort(self) {
        match self {
            Upload::S3 {
                client,
                bucket,
                key,
                upload_id,
                ..
            } => {
                if let Err(error) = client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(&key)
                    .upload_id(upload_id)
                    .send()
                    .await
                {
                    tracing::warn!(key, error = %DisplayErrorContext(error), "aborting the upload failed");
                }
            }
            Upload::File { partial, .. } => {
                let _ = tokio::fs::remove_file(&partial).await;
            }
        }
    }
}
