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

use crate::agent::error::{AgentError, io_error, s3_error};

pub(super) fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(PARTIAL);
    PathBuf::from(name)
}

/// Suffix of a file being written on a volume.
pub const PARTIAL: &str = ".partial";

/// An object being written.
pub enum Upload {
    S3(Multipart),
    File(PartialFile),
}

/// An S3 multipart upload; clones share the list of uploaded parts.
#[derive(Clone)]
pub struct Multipart {
    pub(super) client: aws_sdk_s3::Client,
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) upload_id: String,
    pub(super) parts: Arc<Mutex<Vec<CompletedPart>>>,
}

/// A file on a volume, written under its `.partial` name.
#[derive(Clone)]
pub struct PartialFile {
    pub(super) path: PathBuf,
    pub(super) partial: PathBuf,
    pub(super) file: Arc<tokio::sync::Mutex<tokio::fs::File>>,
}

impl Upload {
    /// Sends part `number` (from 1) in the background; the caller awaits it
    /// before sending the next, so at most one part is in flight.
    pub fn send_part(&self, number: i32, body: Bytes) -> JoinHandle<Result<(), AgentError>> {
        match self {
            Upload::S3(upload) => {
                let upload = upload.clone();
                tokio::spawn(async move { upload.send_part(number, body).await })
            }
            Upload::File(upload) => {
                let upload = upload.clone();
                tokio::spawn(async move { upload.write(&body).await })
            }
        }
    }

    /// Makes the object visible, whole.
    pub async fn complete(self) -> Result<(), AgentError> {
        match self {
            Upload::S3(upload) => upload.complete().await,
            Upload::File(upload) => upload.complete().await,
        }
    }

    /// Throws the parts away; best effort (a killed run's leftovers are
    /// aborted by the next run).
    pub async fn abort(self) {
        match self {
            Upload::S3(upload) => upload.abort().await,
            Upload::File(upload) => {
                let _ = tokio::fs::remove_file(&upload.partial).await;
            }
        }
    }
}

impl Multipart {
    async fn send_part(&self, number: i32, body: Bytes) -> Result<(), AgentError> {
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_error(&format!("uploading part {number} of"), &self.key, e))?;
        self.parts.lock().expect("parts").push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(String::from))
                .build(),
        );
        Ok(())
    }

    async fn complete(self) -> Result<(), AgentError> {
        let mut parts = std::mem::take(&mut *self.parts.lock().expect("parts"));
        parts.sort_by_key(|p| p.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_error("completing the upload of", &self.key, e))
    }

    async fn abort(self) {
        if let Err(error) = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await
        {
            tracing::warn!(key = self.key, error = %DisplayErrorContext(error), "aborting the upload failed");
        }
    }
}

impl PartialFile {
    async fn write(&self, body: &[u8]) -> Result<(), AgentError> {
        self.file
            .lock()
            .await
            .write_all(body)
            .await
            .map_err(|e| io_error("writing", &self.partial, e))
    }

    async fn complete(self) -> Result<(), AgentError> {
        let mut file = self.file.lock().await;
        file.flush()
            .await
            .map_err(|e| io_error("writing", &self.partial, e))?;
        file.sync_all()
            .await
            .map_err(|e| io_error("syncing", &self.partial, e))?;
        tokio::fs::rename(&self.partial, &self.path)
            .await
            .map_err(|e| io_error("renaming", &self.partial, e))
    }
}
