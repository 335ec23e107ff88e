//! Agents: login sessions, presence, caps, and the grace period after a dropped connection.

use super::{Chat, ChatResult};
use crate::auth;
use crate::clock::now_ms;
use crate::fanout::{Outbound, Party};
use switchboard_shared::{AgentId, ConversationId, ErrorCode, Presence};
use switchboard_store::{AgentPatch, AgentRecord, Role};

/// A successful login.
pub struct Login {
    pub token: String,
    pub expires_at: i64,
    pub agent: AgentRecord,
}

impl Chat {
    /// Checks e-mail and password and opens a session. Wrong e-mail, wrong password and
    /// disabled accounts all get the same answer.
    pub async fn login(&self, email: &str, password: &str) -> ChatResult<Login> {
        let agent = self
            .store()
            .agent_by_email(email)
            .await?
            .filter(|a| !a.disabled);
        // The same argon2 work whether or not the account exists, so the time of the answer
        // does not tell which addresses have accounts.
        let ok = self
            .inner
            .passwords
            .verify(password, agent.as_ref().map(|a| a.password_hash.as_str()))
            .await;
        let Some(agent) = agent.filter(|_| ok) else {
            return Err(ErrorCode::InvalidToken.into());
        };
        let (token, hash) = auth::new_token()?;
        let now = now_ms();
        let ttl = i64::try_from(self.inner.cfg.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(ttl);
        self.store()
            .create_session(hash, agent.id, now, expires_at)
            .await?;
        Ok(Login {
            token,
            expires_at,
            agent,
        })
    }

    pub async fn agent_for_token(&self, token: &str) -> ChatResult<AgentRecord> {
        self.store()
            .session_agent(auth::token_hash(token), now_ms())
            .await?
            .ok_or_else(|| ErrorCode::InvalidToken.into())
    }

    /// Revokes the session and closes the consoles that use it.
    pub async fn logout(&self, token: &str) -> ChatResult<()> {
        let hash = auth::token_hash(token);
        let agent = self.store().session_agent(hash, now_ms()).await?;
        self.store().revoke_session(hash, now_ms()).await?;
        if let Some(agent) = agent {
            self.hub().send_party(
                Party::Agent(agent.id),
                Outbound::SessionRevoked(Box::new(hash)),
            );
        }
        Ok(())
    }

    /// A console said hello. Returns the conversations the agent holds.
    pub fn agent_connected(&self, agent: &AgentRecord) -> Vec<ConversationId> {
        let mut r = self.router();
        r.upsert_agent(agent.id, &agent.display_name, agent.max_concurrent_chats);
        r.agent_connected(agent.id);
        r.chats_of(agent.id)
    }

    /// Call after the welcome is sent: the agent may take waiting chats now.
    pub async fn agent_ready(&self, agent: AgentId) {
        self.send_load(agent);
        self.rebalance().await;
    }

    /// A console closed. The last one starts the grace period if the agent holds chats.
    pub fn agent_disconnected(&self, agent: AgentId) {
        let generation = self.router().agent_disconnected(agent);
        if let Some(generation) = generation {
            tracing::info!(%agent, "agent disconnected; grace period started");
            self.start_grace_timer(agent, generation);
        }
        self.broadcast_queue();
    }

    pub(crate) fn start_grace_timer(&self, agent: AgentId, generation: u64) {
        let chat = self.clone();
        let grace = self.inner.cfg.agent_grace;
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(grace) => chat.requeue_after_grace(agent, generation).await,
                _ = shutdown.cancelled() => {}
            }
        });
    }

    pub async fn set_presence(&self, agent: AgentId, presence: Presence) {
        self.router().set_presence(agent, presence);
        self.send_load(agent);
        self.rebalance().await;
    }

    /// Changes an agent's cap, durably and live. Lowering it keeps current chats.
    pub async fn update_agent(&self, agent: AgentId, patch: AgentPatch) -> ChatResult<AgentRecord> {
        let disabling = patch.disabled == Some(true);
        let rec = self.store().update_agent(agent, patch).await?;
        // Name and cap, and the sites: a role change moves an agent between "every site"
        // and their own.
        self.route_by_account(&rec).await?;
        self.broadcast_queue();
        if disabling {
            self.store().revoke_agent_sessions(agent, now_ms()).await?;
            self.hub()
                .send_party(Party::Agent(agent), Outbound::AllSessionsRevoked);
            // A disabled agent is not coming back: their chats go to the front of the queue
            // now instead of waiting out a grace period.
            let generation = self.router().disable_agent(agent);
            if let Some(generation) = generation {
                self.requeue_after_grace(agent, generation).await;
            }
        }
        self.send_load(agent);
        self.rebalance().await;
        Ok(rec)
    }

    /// Stores the sites `agent` works for (empty: every site) and routes by them from now
    /// on; chats they hold stay with them.
    pub async fn set_agent_sites(&self, agent: AgentId, sites: &[String]) -> ChatResult<()> {
        self.store().set_agent_sites(agent, sites).await?;
        let Some(rec) = self.store().agent(agent).await? else {
            return Ok(());
        };
        self.route_by_account(&rec).await?;
        self.broadcast_queue();
        self.rebalance().await;
        Ok(())
    }

    /// The sites an agent works for, by the one rule (see [`works_for`]).
    pub async fn sites_of(&self, agent: &AgentRecord) -> ChatResult<Option<Vec<String>>> {
        let sites = self.store().agent_sites(agent.id).await?;
        Ok(works_for(agent.role, sites))
    }

    /// Routing learns the account's name, cap and sites (a disabled account is left out).
    async fn route_by_account(&self, rec: &AgentRecord) -> ChatResult<()> {
        let sites = self
            .sites_of(rec)
            .await?
            .map(std::sync::Arc::<[String]>::from);
        let mut r = self.router();
        if !rec.disabled {
            r.upsert_agent(rec.id, &rec.display_name, rec.max_concurrent_chats);
        }
        r.set_agent_sites(rec.id, sites);
        Ok(())
    }

    /// The password worker (argon2 off the async runtime, on one thread).
    pub fn passwords(&self) -> &auth::PasswordWorker {
        &self.inner.passwords
    }

    pub fn agent_owns(&self, agent: AgentId, conv: ConversationId) -> bool {
        self.router().agent_owns(agent, conv)
    }

    /// Every agent with presence and load (for the transfer list).
    pub fn roster(&self) -> Vec<(AgentId, String, Presence, u32, u32)> {
        self.router().roster()
    }

    /// The head of the waiting queue as agents see it (metadata only), and how many wait.
    /// The head of the waiting queue of the sites `agent` works for.
    pub fn queue_head(&self, agent: AgentId) -> (Vec<switchboard_shared::QueueEntry>, u32) {
        let r = self.router();
        let sites = r.sites_of(agent);
        r.queue_head(super::publish::QUEUE_SNAPSHOT_MAX, sites.as_deref())
    }

    pub fn load_of(&self, agent: AgentId) -> Option<switchboard_shared::Load> {
        self.router().load_of(agent)
    }
}

/// The sites an agent works for, given their role and the sites stored for them: `None`
/// means every site (admins always; agents for whom none are set, as in a single-site
/// installation). Routing, the REST API's site scope and ticket assignment all ask this.
pub fn works_for(role: Role, sites: Vec<String>) -> Option<Vec<String>> {
    (role != Role::Admin && !sites.is_empty()).then_some(sites)
}
