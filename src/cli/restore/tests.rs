use super::*;
use crate::api::{
    BackupRecord, BackupsStatus, ChatbotDeploymentSpec, ChatbotDeploymentStatus, RevisionRecord,
};

fn brigade() -> ChatbotDeployment {
    let spec: ChatbotDeploymentSpec = serde_yaml_ng::from_str(
        "environment: production\nimage: x\ndatabase: {mode: managed}\nbackup: {destination: {s3: {bucket: brigade-sales-backups}}}",
    )
    .unwrap();
    let mut cbd = ChatbotDeployment::new("brigade-sales", spec);
    cbd.status = Some(ChatbotDeploymentStatus {
        ready_replicas: Some(3),
        revisions: vec![
            RevisionRecord {
                revision: 6,
                ..Default::default()
            },
            RevisionRecord {
                revision: 7,
                pre_rollout_snapshot: Some("20261201-020000-r7-pre".into()),
                ..Default::default()
            },
        ],
        backups: Some(BackupsStatus {
            recent: vec![BackupRecord {
                id: "20261201-020000-r7-pre".into(),
                phase: "Succeeded".into(),
                revision: Some(6),
                bytes: Some(48 << 20),
                verified: Some(true),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    });
    cbd
}

#[test]
fn the_plan_names_the_backup_the_downtime_and_the_undo() {
    let plan = restore_plan(&brigade(), None, Some(6), Some(6)).unwrap();
    assert!(
        plan.starts_with("restore of brigade-sales from backup 20261201-020000-r7-pre:\n"),
        "{plan}"
    );
    assert!(
        plan.contains("48.0 MiB, revision 6, verified yes"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "2. the app (3 ready pods) and PgBouncer, where there is one, scaled to zero"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("4. the connection Secret brigade-sales-db switched"),
        "{plan}"
    );
    assert!(
        plan.contains("5. the pods of revision 6 put back"),
        "{plan}"
    );
    assert!(
        plan.contains("kept, untouched, as the undo for 7 days"),
        "{plan}"
    );
    let newest = restore_plan(&brigade(), None, Some(7), None).unwrap_err();
    assert!(newest.contains("revision 7 is the newest"), "{newest}");
}

#[test]
fn the_plan_of_an_rds_snapshot_names_the_new_instance_and_its_undo() {
    let mut cbd = brigade();
    let status = cbd.status.as_mut().unwrap();
    status.revisions[1].pre_rollout_snapshot = None;
    status.revisions[1].pre_rollout_db_snapshot = Some("chatbot-brigade-sales-pre-r7".into());
    status.database = Some(crate::api::StoreStatus {
        identifier: Some("chatbot-brigade-sales".into()),
        ..Default::default()
    });
    let plan = restore_plan(&cbd, None, Some(6), None).unwrap();
    assert!(
        plan.starts_with("restore of brigade-sales from backup chatbot-brigade-sales-pre-r7:\n"),
        "{plan}"
    );
    assert!(
        plan.contains("the backup: a native RDS snapshot, not among the recent backups in status; RDS holds it"),
        "{plan}"
    );
    assert!(
        plan.contains("1. a native RDS snapshot of chatbot-brigade-sales, the data as it is now (the app keeps serving)"),
        "{plan}"
    );
    assert!(
        plan.contains("3. RDS snapshot chatbot-brigade-sales-pre-r7 restored into a new RDS instance beside chatbot-brigade-sales"),
        "{plan}"
    );
    assert!(
        plan.contains("switched to the new instance's endpoint"),
        "{plan}"
    );
    assert!(
        plan.contains("RDS instance chatbot-brigade-sales is kept, untouched, as the undo for 7 days, then deleted after a final snapshot"),
        "{plan}"
    );
}

#[test]
fn an_external_database_gets_no_plan_it_cannot_carry_out() {
    let mut cbd = brigade();
    cbd.spec.database.as_mut().unwrap().mode = Some(crate::api::StoreMode::External);
    let refused = restore_plan(&cbd, Some("20261201-020000-r7-pre"), None, None).unwrap_err();
    assert!(
        refused.starts_with(
            "brigade-sales cannot be restored: spec.database.mode is not Managed or InCluster"
        ),
        "{refused}"
    );
    cbd.spec.database.as_mut().unwrap().mode = Some(crate::api::StoreMode::Managed);
    cbd.spec.paused = Some(true);
    let refused = restore_plan(&cbd, Some("20261201-020000-r7-pre"), None, None).unwrap_err();
    assert!(refused.contains("spec.paused is true"), "{refused}");
}
