//! Conditions in the standard `metav1.Condition` shape, built in one place.
//! `lastTransitionTime` moves only when a condition's status changes, so an
//! unchanged resource gets a byte-identical status and no write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// kstatus' abnormal-true conditions (Flux and `kubectl wait` read them):
/// `Reconciling` while work is in flight, `Stalled` when it cannot finish
/// without someone fixing something.
pub mod kstatus {
    pub const RECONCILING: &str = "Reconciling";
    pub const STALLED: &str = "Stalled";
}

/// One condition as a step judged it: its type, status, reason and
/// message. When it last changed is the [`ConditionSet`]'s to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub type_: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    pub reason: String,
    pub message: String,
}

/// The conditions a step judged, in the order it judged them; a type
/// judged twice keeps the later.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judgements(Vec<Judged>);

impl Judgements {
    /// Judges condition `type_`.
    pub fn set(
        &mut self,
        type_: &'static str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
    ) {
        self.push(
            type_,
            if status { "True" } else { "False" },
            reason,
            message,
        );
    }

    /// Judges condition `type_` `Unknown`: the operator could not tell.
    pub fn set_unknown(&mut self, type_: &'static str, reason: &str, message: impl Into<String>) {
        self.push(type_, "Unknown", reason, message);
    }

    fn push(
        &mut self,
        type_: &'static str,
        status: &'static str,
        reason: &str,
        message: impl Into<String>,
    ) {
        self.0.push(Judged {
            type_,
            status,
            reason: reason.to_string(),
            message: message.into(),
        });
    }

    /// Whether condition `type_` was judged.
    pub fn has(&self, type_: &str) -> bool {
        self.0.iter().any(|j| j.type_ == type_)
    }

    /// Another step's judgements after these.
    pub fn extend(&mut self, later: Judgements) {
        self.0.extend(later.0);
    }

    /// In `order` (the position of their type in it; types it does not
    /// name last), otherwise as judged.
    pub fn sorted_by(mut self, order: &[&str]) -> Judgements {
        self.0.sort_by_key(|j| {
            order
                .iter()
                .position(|t| *t == j.type_)
                .unwrap_or(order.len())
        });
        self
    }
}

impl IntoIterator for Judgements {
    type Item = Judged;
    type IntoIter = std::vec::IntoIter<Judged>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Builds the next list of conditions from the previous one.
pub struct ConditionSet<'a> {
    previous: &'a [Condition],
    generation: Option<i64>,
    now: &'a Time,
    next: Vec<Condition>,
}

impl<'a> ConditionSet<'a> {
    pub fn new(previous: &'a [Condition], generation: Option<i64>, now: &'a Time) -> Self {
        Self {
            previous,
            generation,
            now,
            next: Vec::new(),
        }
    }

    /// Sets condition `type_`; the transition time is kept when its status
    /// did not change.
    pub fn set(&mut self, type_: &str, status: bool, reason: &str, message: impl Into<String>) {
        self.set_status(
            type_,
            if status { "True" } else { "False" },
            reason,
            message,
        );
    }

    /// Sets condition `type_` to `Unknown`: the operator could not tell.
    pub fn set_unknown(&mut self, type_: &str, reason: &str, message: impl Into<String>) {
        self.set_status(type_, "Unknown", reason, message);
    }

    fn set_status(&mut self, type_: &str, status: &str, reason: &str, message: impl Into<String>) {
        let last_transition_time = self
            .previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| self.now.clone());
        self.next.retain(|c| c.type_ != type_);
        self.next.push(Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message: message.into(),
            last_transition_time,
            observed_generation: self.generation,
        });
    }

    /// Sets every judged condition, in its order.
    pub fn merge(&mut self, judgements: Judgements) {
        for judged in judgements {
            self.set_status(judged.type_, judged.status, &judged.reason, judged.message);
        }
    }

    pub fn finish(self) -> Vec<Condition> {
        self.next
    }
}

/// The condition of `type_`, if present.
pub fn find<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether condition `type_` is present and `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let (t10, t20, t30) = (at(10), at(20), at(30));
        let mut first = ConditionSet::new(&[], Some(1), &t10);
        first.set("Ready", false, "Creating", "waiting for pods");
        let first = first.finish();

        let mut same = ConditionSet::new(&first, Some(2), &t20);
        same.set("Ready", false, "RollingOut", "1 of 2 pods ready");
        let same = same.finish();
        assert_eq!(same[0].last_transition_time, at(10));
        assert_eq!(same[0].reason, "RollingOut");
        assert_eq!(same[0].observed_generation, Some(2));

        let mut flipped = ConditionSet::new(&same, Some(2), &t30);
        flipped.set("Ready", true, "Available", "2 of 2 pods ready");
        assert_eq!(flipped.finish()[0].last_transition_time, at(30));
    }
}
