//! The administrative subcommands (`agent add`, `site add`) and the demo seed.

use crate::auth;
use crate::config::{AgentCommand, SiteCommand, StoreArgs};
use anyhow::{bail, Context};
use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard_shared::{FieldRule, PrechatFields, SupportLevel};
use switchboard_store::{NewAgent, NoListener, Role, SharedStore, SiteRecord, StoreError};

pub const DEMO_SITE: &str = "demo";
pub const DEMO_EMAIL: &str = "demo@switchboard.local";
pub const DEMO_PASSWORD: &str = "demo-agent";

async fn open(args: &StoreArgs) -> anyhow::Result<SharedStore> {
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    }
    let url = args.url();
    switchboard_store::open(&url, Arc::new(NoListener))
        .await
        .with_context(|| format!("opening the database {}", switchboard_store::masked(&url)))
}

/// `switchboard migrate`: applies pending migrations and says where the schema stands.
pub async fn migrate(args: &StoreArgs) -> anyhow::Result<()> {
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    }
    let url = args.url();
    let masked = switchboard_store::masked(&url);
    let version = switchboard_store::migrate(&url)
        .await
        .with_context(|| format!("migrating the database {masked}"))?;
    println!("{masked}: schema version {version}, up to date");
    Ok(())
}

pub async fn agent(cmd: AgentCommand) -> anyhow::Result<()> {
    match cmd {
        AgentCommand::Add {
            store,
            email,
            name,
            password,
            password_stdin,
            max_chats,
            admin,
            level,
            sites,
        } => {
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .context("reading the password")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
                (None, false) => {
                    rpassword::prompt_password("Password: ").context("reading the password")?
                }
            };
            if password.chars().count() < 8 {
                bail!("the password must have at least 8 characters");
            }
            if !email.contains('@') || name.trim().is_empty() {
                bail!("give a valid --email and a non-empty --name");
            }
            let db = open(&store).await?;
            for site in &sites {
                if db.site(site).await?.is_none() {
                    db.close().await;
                    bail!("--site {site}: no such site (create it with `switchboard site add`)");
                }
            }
            let new = NewAgent {
                email: email.trim().to_lowercase(),
                display_name: name.trim().to_string(),
                password_hash: auth::hash_password(&password)?,
                role: if admin { Role::Admin } else { Role::Agent },
                max_concurrent_chats: max_chats,
                support_level: SupportLevel::parse(&level)
                    .ok_or_else(|| anyhow::anyhow!("--level must be L1, L2 or L3"))?,
            };
            let result = match db.create_agent(new).await {
                Ok(a) if !sites.is_empty() => db.set_agent_sites(a.id, &sites).await.map(|()| a),
                other => other,
            };
            db.close().await;
            match result {
                Ok(a) => println!("agent {} created", a.id),
                Err(StoreError::Conflict(_)) => {
                    bail!("an agent with the e-mail {email} exists already")
                }
                Err(e) => return Err(e.into()),
            }
        }
        AgentCommand::List { store } => {
            let db = open(&store).await?;
            for a in db.list_agents().await? {
                println!(
                    "{}\t{}\t{}\t{}\tmax {}{}",
                    a.id,
                    a.email,
                    a.display_name,
                    a.role.as_str(),
                    a.max_concurrent_chats,
                    if a.disabled { "\tdisabled" } else { "" }
                );
            }
            db.close().await;
        }
    }
    Ok(())
}

pub async fn site(cmd: SiteCommand) -> anyhow::Result<()> {
    match cmd {
        SiteCommand::Add {
            store,
            id,
            name,
            origins,
            prechat,
        } => {
            let prechat = parse_prechat(&prechat)?;
            let valid_id = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_id {
                bail!("--id must be 1 to 64 letters, digits, '-' or '_'");
            }
            for o in &origins {
                if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                    bail!("origin {o} must look like https://www.example.com (scheme and host, no path)");
                }
            }
            let db = open(&store).await?;
            let result = db
                .upsert_site(SiteRecord {
                    id: id.clone(),
                    name: name.unwrap_or_else(|| id.clone()),
                    allowed_origins: origins,
                    prechat,
                    // A new site starts with the defaults; an existing one keeps its options.
                    options: Default::default(),
                })
                .await;
            db.close().await;
            result?;
            println!("site {id} saved");
        }
    }
    Ok(())
}

/// Parses `name=required,email=optional`; unnamed fields are off.
pub fn parse_prechat(spec: &str) -> anyhow::Result<PrechatFields> {
    let mut fields = PrechatFields::default();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((field, rule)) = pair.split_once('=') else {
            bail!("--prechat takes field=rule pairs, got {pair:?}");
        };
        let rule = match rule.trim() {
            "off" => FieldRule::Off,
            "optional" => FieldRule::Optional,
            "required" => FieldRule::Required,
            other => bail!("unknown pre-chat rule {other:?} (off, optional, required)"),
        };
        match field.trim() {
            "name" => fields.name = rule,
            "email" => fields.email = rule,
            "customer_number" => fields.customer_number = rule,
            other => bail!("unknown pre-chat field {other:?} (name, email, customer_number)"),
        }
    }
    Ok(fields)
}

/// Creates the demo site and agent when missing; returns lines for the start-up banner.
pub async fn seed_demo(store: &SharedStore, addr: SocketAddr) -> anyhow::Result<Vec<String>> {
    let port = addr.port();
    store
        .upsert_site(SiteRecord {
            id: DEMO_SITE.into(),
            name: "Acme Brandschutz".into(),
            allowed_origins: vec![
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ],
            prechat: PrechatFields {
                name: FieldRule::Optional,
                email: FieldRule::Optional,
                customer_number: FieldRule::Off,
            },
            options: Default::default(),
        })
        .await?;
    if store.agent_by_email(DEMO_EMAIL).await?.is_none() {
        store
            .create_agent(NewAgent {
                email: DEMO_EMAIL.into(),
                display_name: "Demo Agent".into(),
                password_hash: auth::hash_password(DEMO_PASSWORD)?,
                role: Role::Admin,
                max_concurrent_chats: 3,
                support_level: SupportLevel::L1,
            })
            .await?;
    }
    Ok(vec![
        format!("  example page: http://{addr}/acme/"),
        format!("  console:      http://{addr}/console"),
        format!("  demo agent:   {DEMO_EMAIL} / {DEMO_PASSWORD}  (site id: {DEMO_SITE})"),
        format!("  answer chats: node --experimental-websocket examples/agent.mjs http://{addr}"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prechat_specs_parse_and_typos_are_refused() {
        let f = parse_prechat("name=required, email=optional").unwrap();
        assert_eq!(
            (f.name, f.email, f.customer_number),
            (FieldRule::Required, FieldRule::Optional, FieldRule::Off)
        );
        assert_eq!(parse_prechat("").unwrap(), PrechatFields::default());
        assert!(parse_prechat("nmae=required").is_err());
        assert!(parse_prechat("name=maybe").is_err());
    }
}
