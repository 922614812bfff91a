//! Captures what the operator logs during a test, for assertions on it.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use tracing::subscriber::DefaultGuard;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs captured on this thread until dropped (JSON lines, every level).
pub struct Captured {
    buffer: Buffer,
    _guard: DefaultGuard,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().unwrap()).into_owned()
    }
}

/// Starts capturing the current thread's logs (use a current-thread runtime).
pub fn capture() -> Captured {
    capture_at(tracing::Level::TRACE)
}

/// Captures the current thread's logs at `level` and above, as an operator
/// run with `RUST_LOG=<level>` would write them.
pub fn capture_at(level: tracing::Level) -> Captured {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_max_level(level)
        .with_writer(move || writer.clone())
        .finish();
    Captured {
        buffer,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}
