//! Notifications: each state change a reconcile records as an Event, also
//! sent to the team's webhook (`spec.observability.notify`) as Slack's
//! incoming-webhook JSON. The pure part is [`message`] (which notes go, the
//! message, when to try again); [`sender`] delivers them in the background,
//! so a slow or failing webhook never holds a reconcile back.

mod message;
pub mod sender;

pub use message::*;
pub use sender::Notifier;
