//! The `chatbot-operator` binary (also installable as `kubectl-chatbot`).

use std::io::Write;

use chatbot_operator::cli::{self, Cli};
use clap::Parser;

fn main() {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            if let Err(error) = stdout
                .write_all(output.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A closed pipe (`| head`) is not worth a message.
                if error.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("error: {error}");
                    std::process::exit(1);
                }
            }
        }
        Err(cli::CliError::Exit(code)) => std::process::exit(code),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(error.exit_code());
        }
    }
}
