//! Where dumps go: an S3 bucket (multipart upload, aborted on any failure,
//! so a partial object never exists) or a directory on a mounted volume
//! (written under a `.partial` name and renamed when complete).

use std::{
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
};

mod upload;

use aws_sdk_s3::primitives::ByteStream;

pub use self::upload::Upload;
use self::upload::{Multipart, PARTIAL, PartialFile, partial};
use super::error::{AgentError, io_error, s3_body_error, s3_error};

pub type Reader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

#[derive(Clone, Debug)]
pub enum Store {
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
    Directory {
        root: PathBuf,
    },
}

impl Store {
    /// An S3 client from the standard chain (web identity, or keys from a
    /// Secret in the environment). With `AWS_ENDPOINT_URL` (or
    /// `AWS_ENDPOINT_URL_S3`) set, an S3-compatible store is addressed by
    /// path, as they expect.
    pub async fn s3(bucket: &str, region: Option<&str>) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_string()));
        }
        let config = loader.load().await;
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .build();
        Store::S3 {
            client: aws_sdk_s3::Client::from_conf(s3),
            bucket: bucket.to_string(),
        }
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), AgentError> {
        match self {
            Store::S3 { client, bucket } => client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| s3_error("writing", key, e)),
            Store::Directory { root } => {
                let path = root.join(key);
                let partial = partial(&path);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| io_error("creating", parent, e))?;
                }
                tokio::fs::write(&partial, body)
                    .await
                    .map_err(|e| io_error("writing", &partial, e))?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(|e| io_error("renaming", &partial, e))
            }
        }
    }

    /// The object `key`, or `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AgentError> {
        match self {
            Store::S3 { client, bucket } => {
                match client.get_object().bucket(bucket).key(key).send().await {
                    Ok(object) => object
                        .body
                        .collect()
                        .await
                        .map(|body| Some(body.to_vec()))
                        .map_err(|e| s3_body_error(key, e)),
                    Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        Ok(None)
                    }
                    Err(error) => Err(s3_error("reading", key, error)),
                }
            }
            Store::Directory { root } => {
                let path = root.join(key);
                match tokio::fs::read(&path).await {
                    Ok(body) => Ok(Some(body)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_error("reading", &path, e)),
                }
            }
        }
    }

    /// The object `key` as a stream.
    pub async fn reader(&self, key: &str) -> Result<Reader, AgentError> {
        match self {
            Store::S3 { client, bucket } => {
                let object = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| s3_error("reading", key, e))?;
                Ok(Box::pin(object.body.into_async_read()))
            }
            Store::Directory { root } => {
                let path = root.join(key);
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| io_error("opening", &path, e))?;
                Ok(Box::pin(file))
            }
        }
    }

    /// Keys under `prefix` (complete objects only).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, AgentError> {
        match self {
            Store::S3 { client, bucket } => {
                let mut keys = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| s3_error("listing", prefix, e))?;
                    keys.extend(
                        page.contents()
                            .iter()
                            .filter_map(|o| o.key().map(String::from)),
                    );
                }
                Ok(keys)
            }
            Store::Directory { root } => {
                let mut keys = keys_under(root, prefix, false).await?;
                keys.sort();
                Ok(keys)
            }
        }
    }

    /// Removes the objects `keys` (a missing one is not an error).
    pub async fn delete(&self, keys: &[String]) -> Result<(), AgentError> {
        for key in keys {
            match self {
                Store::S3 { client, bucket } => {
                    client
                        .delete_object()
                        .bucket(bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(|e| s3_error("deleting", key, e))?;
                }
                Store::Directory { root } => {
                    let path = root.join(key);
                    match tokio::fs::remove_file(&path).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_error("deleting", &path, e)),
                    }
                    if let Some(parent) = path.parent() {
                        // Gone once empty; a folder still holding files stays.
                        let _ = tokio::fs::remove_dir(parent).await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Aborts multipart uploads (or removes partial files) left under
    /// `prefix` by a run that was killed: one run at a time per deployment,
    /// so any of them is stale. Returns how many.
    pub async fn abort_stale(&self, prefix: &str) -> Result<usize, AgentError> {
        match self {
            Store::S3 { client, bucket } => {
                let uploads = client
                    .list_multipart_uploads()
                    .bucket(bucket)
                    .prefix(prefix)
                    .send()
                    .await
                    .map_err(|e| s3_error("listing uploads under", prefix, e))?;
                let mut aborted = 0;
                for upload in uploads.uploads() {
                    if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                        client
                            .abort_multipart_upload()
                            .bucket(bucket)
                            .key(key)
                            .upload_id(id)
                            .send()
                            .await
                            .map_err(|e| s3_error("aborting the upload of", key, e))?;
                        aborted += 1;
                    }
                }
                Ok(aborted)
            }
            Store::Directory { root } => {
                let stale = keys_under(root, prefix, true).await?;
                self.delete(&stale).await?;
                Ok(stale.len())
            }
        }
    }

    /// Starts writing the object `key` in parts.
    pub async fn start(&self, key: &str) -> Result<Upload, AgentError> {
        match self {
            Store::S3 { client, bucket } => {
                let created = client
                    .create_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| s3_error("starting the upload of", key, e))?;
                let upload_id = created
                    .upload_id()
                    .ok_or_else(|| AgentError::Store(format!("no upload id for {key}")))?
                    .to_string();
                Ok(Upload::S3(Multipart {
                    client: client.clone(),
                    bucket: bucket.clone(),
                    key: key.to_string(),
                    upload_id,
                    parts: Arc::default(),
                }))
            }
            Store::Directory { root } => {
                let path = root.join(key);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| io_error("creating", parent, e))?;
                }
                let partial = partial(&path);
                let file = tokio::fs::File::create(&partial)
                    .await
                    .map_err(|e| io_error("creating", &partial, e))?;
                Ok(Upload::File(PartialFile {
                    path,
                    partial,
                    file: Arc::new(tokio::sync::Mutex::new(file)),
                }))
            }
        }
    }
}

/// The keys of the files below `prefix` in the volume at `root`: the
/// complete ones, or (`partial`) those a run was writing when it was
/// killed (or is writing now).
async fn keys_under(root: &Path, prefix: &str, partial: bool) -> Result<Vec<String>, AgentError> {
    Ok(files_under(&root.join(prefix))
        .await?
        .iter()
        .filter(|path| path.to_string_lossy().ends_with(PARTIAL) == partial)
        .filter_map(|path| path.strip_prefix(root).ok())
        .map(|key| key.to_string_lossy().into_owned())
        .collect())
}

/// Every file below `folder`, complete or partial; none when it does
/// not exist.
async fn files_under(folder: &Path) -> Result<Vec<PathBuf>, AgentError> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let mut entries = match tokio::fs::read_dir(&folder).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error("listing", &folder, e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| io_error("listing", &folder, e))?
        {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}
