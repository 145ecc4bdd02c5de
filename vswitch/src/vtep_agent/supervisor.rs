//! Runs the agent the model asks for: started when `vtep_agent` is set, restarted when its
//! settings change, stopped when it is removed; each connection retried once a second.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::session;
use super::status::{AgentView, Status};
use crate::config::manager::ConfigManager;
use crate::model::VtepAgent;

const RETRY: Duration = Duration::from_secs(1);

struct Running {
    settings: VtepAgent,
    status: Arc<Status>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
pub struct Supervisor {
    running: Mutex<Option<Running>>,
}

/// The settings an agent runs with (what it mirrored is not one).
fn settings_of(model_agent: Option<VtepAgent>) -> Option<VtepAgent> {
    model_agent.map(|a| VtepAgent {
        owned: Default::default(),
        ..a
    })
}

impl Supervisor {
    /// Starts, restarts or stops the agent to match the model of `owner`'s config manager.
    /// Must run inside the control runtime.
    pub fn sync<M: AsRef<ConfigManager> + Send + Sync + 'static>(&self, owner: &Arc<M>) {
        let mgr: &ConfigManager = (**owner).as_ref();
        let want = settings_of(mgr.model().0.vtep_agent);
        let mut running = self.running.lock();
        if running.as_ref().map(|r| &r.settings) == want.as_ref() {
            return;
        }
        if let Some(old) = running.take() {
            old.task.abort();
            tracing::info!("vtep agent: stopped ({})", old.settings.db);
        }
        let Some(settings) = want else {
            return;
        };
        tracing::info!(
            "vtep agent: {} as physical switch {}",
            settings.db,
            settings.name
        );
        let status = Arc::new(Status::default());
        status.connecting();
        let task = tokio::spawn(run(owner.clone(), settings.clone(), status.clone()));
        *running = Some(Running {
            settings,
            status,
            task,
        });
    }

    pub fn view(&self) -> Option<AgentView> {
        self.running.lock().as_ref().map(|r| r.status.view())
    }

    pub fn stop(&self) {
        if let Some(r) = self.running.lock().take() {
            r.task.abort();
        }
    }
}

async fn run<M: AsRef<ConfigManager> + Send + Sync + 'static>(
    owner: Arc<M>,
    settings: VtepAgent,
    status: Arc<Status>,
) {
    loop {
        status.connecting();
        let ended = session::run((*owner).as_ref(), &settings, &status).await;
        let why = ended.err().unwrap_or_else(|| "the session ended".into());
        status.disconnected(&settings.db, &why);
        tokio::time::sleep(RETRY).await;
    }
}
