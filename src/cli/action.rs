//! What every on-call command does with the cluster: connects with the
//! caller's kubeconfig, reads the resource (and its app Deployments), and
//! creates a ChatbotAction and waits for its outcome.

use k8s_openapi::api::apps::v1::Deployment;
use kube::{Api, Client};

use super::CliError;
use crate::api::ChatbotDeployment;

/// The ChatbotDeployment an on-call command is about.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Name of the ChatbotDeployment.
    pub name: String,
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short = 'n', long, value_name = "NAME")]
    pub namespace: Option<String>,
}

/// What the reports are made of: the resource and its app Deployment.
pub struct View {
    pub cbd: ChatbotDeployment,
    pub app: Option<Deployment>,
    /// The candidate Deployment of a Canary or BlueGreen rollout.
    pub candidate: Option<Deployment>,
}

/// One on-call action to create.
#[derive(Default)]
pub struct Request<'a> {
    pub kind: crate::api::ActionKind,
    pub revision: Option<i64>,
    /// `Restore`: the backup.
    pub backup: Option<String>,
    /// `Rollback`: the data too.
    pub restore_data: bool,
    pub reason: &'a str,
    pub timeout: u64,
    /// `Backup`: the database shrank on purpose.
    pub expect_shrink: bool,
    /// `Maintenance`: on or off.
    pub maintenance: Option<crate::api::MaintenanceMode>,
    /// `Promote`: the A/B test's candidate, by its variant's name.
    pub variant: Option<String>,
    /// Wait for the outcome (`false`: return once the action exists).
    pub wait: bool,
}

/// Creates the ChatbotAction and waits for its outcome, saying when the
/// operator took it up; the action's message on success, an error with it
/// otherwise.
pub fn act(target: &TargetArgs, request: &Request) -> Result<String, CliError> {
    use crate::api::{ChatbotAction, ChatbotActionSpec};
    use kube::api::PostParams;
    runtime()?.block_on(async {
        let (client, namespace) = connect(target.namespace.as_deref()).await?;
        let name = &target.name;
        // Fail early and clearly on a name that does not exist.
        read(&client, &namespace, name).await?;
        let verb = format!("{:?}", request.kind).to_lowercase();
        let mut action = ChatbotAction::new(
            "",
            ChatbotActionSpec {
                deployment: name.clone(),
                action: request.kind,
                revision: request.revision,
                backup: request.backup.clone(),
                reason: request.reason.to_string(),
                expect_shrink: request.expect_shrink.then_some(true),
                restore_data: request.restore_data.then_some(true),
                maintenance: request.maintenance,
                variant: request.variant.clone(),
            },
        );
        action.metadata.name = None;
        action.metadata.generate_name = Some(format!("{name}-{verb}-"));
        let actions: Api<ChatbotAction> = Api::namespaced(client.clone(), &namespace);
        let created = actions
            .create(&PostParams::default(), &action)
            .await
            .map_err(|error| cluster_error("create", "chatbotaction for", name, error))?;
        let action_name = created.metadata.name.clone().unwrap_or_default();
        if !request.wait {
            return Ok(format!(
                "chatbotaction {action_name} created; follow it with: kubectl get cba {action_name} -n {namespace} -w\n"
            ));
        }
        eprintln!("chatbotaction {action_name} created; waiting for the operator…");
        let deadline =
            tokio::time::Instant::now() + std::time::Duration::from_secs(request.timeout);
        let mut shown = None;
        loop {
            let current = actions
                .get_opt(&action_name)
                .await
                .map_err(|error| cluster_error("read", "chatbotaction", &action_name, error))?;
            let status = current.and_then(|a| a.status).unwrap_or_default();
            let message = status.message.clone().unwrap_or_default();
            match status.phase.as_deref() {
                Some("Succeeded") => return Ok(format!("{message}\n")),
                Some(phase @ ("Failed" | "Unsupported")) => {
                    return Err(CliError::Cluster(format!(
                        "chatbotaction {action_name} {}: {message}",
                        phase.to_lowercase()
                    )));
                }
                Some("Running") if shown.as_deref() != Some(message.as_str()) => {
                    eprintln!("running: {message}");
                    shown = Some(message.clone());
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CliError::Cluster(format!(
                    "chatbotaction {action_name} is still {} after {}s: is the operator running? (kubectl get cba {action_name} -n {namespace})",
                    status.phase.as_deref().unwrap_or("Pending"),
                    request.timeout
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    })
}

/// The single-threaded runtime a command runs its requests on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Cluster(format!("async runtime: {error}")))
}

/// A client from the caller's kubeconfig, and the namespace to use: the
/// one given, else the kubeconfig context's.
pub async fn connect(namespace: Option<&str>) -> Result<(Client, String), CliError> {
    let client = Client::try_default()
        .await
        .map_err(|error| CliError::Cluster(format!("kubeconfig: {error}")))?;
    let namespace = namespace
        .map(str::to_string)
        .unwrap_or_else(|| client.default_namespace().to_string());
    Ok((client, namespace))
}

/// The resource and its app (and candidate) Deployments.
pub async fn read(client: &Client, namespace: &str, name: &str) -> Result<View, CliError> {
    let chatbots: Api<ChatbotDeployment> = Api::namespaced(client.clone(), namespace);
    let cbd = chatbots
        .get_opt(name)
        .await
        .map_err(|error| cluster_error("read", "chatbotdeployment", name, error))?
        .ok_or_else(|| {
            CliError::Cluster(format!(
                "chatbotdeployment {name} not found in namespace {namespace}"
            ))
        })?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    // The pods line is a bonus: a role that may not read Deployments still
    // gets the rest of the report.
    let app = deployments.get_opt(name).await.ok().flatten();
    let candidate = deployments
        .get_opt(&format!("{name}-canary"))
        .await
        .ok()
        .flatten();
    Ok(View {
        cbd,
        app,
        candidate,
    })
}

/// A request the cluster refused, said as the caller can act on it.
fn cluster_error(action: &str, kind: &str, name: &str, error: kube::Error) -> CliError {
    match error {
        kube::Error::Api(status) if status.code == 403 => CliError::Cluster(format!(
            "not allowed to {action} {kind} {name}: {}",
            status.message
        )),
        other => CliError::Cluster(format!("{action} {kind} {name}: {other}")),
    }
}
