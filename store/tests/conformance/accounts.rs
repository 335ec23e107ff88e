//! Agents (e-mail unique case-insensitively), their sessions and their sites.

use crate::fixtures::{acme, agent, new_agent, site};
use crate::harness::Db;
use switchboard_shared::{AgentId, SupportLevel};
use switchboard_store::{AgentPatch, Role, StoreError};

conformance!(
    a_second_agent_with_the_same_email_is_a_conflict,
    agents_can_be_found_listed_and_patched,
    a_session_counts_only_while_unexpired_unrevoked_and_the_agent_enabled,
    an_agents_sites_are_replaced_whole_and_listed_for_all_agents,
);

async fn a_second_agent_with_the_same_email_is_a_conflict(db: Db) {
    let created = db
        .store
        .create_agent(new_agent("anna@example.com"))
        .await
        .unwrap();
    assert_eq!(created.email, "anna@example.com");
    assert!(!created.disabled);
    let again = db.store.create_agent(new_agent("anna@example.com")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let other_case = db.store.create_agent(new_agent("Anna@Example.com")).await;
    assert!(
        matches!(other_case, Err(StoreError::Conflict(_))),
        "{other_case:?}"
    );
    assert_eq!(db.store.list_agents().await.unwrap(), vec![created]);
}

async fn agents_can_be_found_listed_and_patched(db: Db) {
    let anna = agent(&db.store, "anna@example.com").await;
    let ben = agent(&db.store, "ben@example.com").await;
    let found = db.store.agent_by_email("ANNA@example.com").await.unwrap();
    assert_eq!(found.map(|a| a.id), Some(anna));
    assert!(db
        .store
        .agent_by_email("nobody@example.com")
        .await
        .unwrap()
        .is_none());
    let listed: Vec<AgentId> = db
        .store
        .list_agents()
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, [anna, ben]);

    let patch = AgentPatch {
        role: Some(Role::Admin),
        max_concurrent_chats: Some(5),
        support_level: Some(SupportLevel::L3),
        ..AgentPatch::default()
    };
    let patched = db.store.update_agent(anna, patch).await.unwrap();
    assert_eq!(
        (
            patched.role,
            patched.max_concurrent_chats,
            patched.support_level
        ),
        (Role::Admin, 5, SupportLevel::L3)
    );
    assert_eq!(patched.display_name, "Anna", "untouched fields stay");
    let renamed = AgentPatch {
        display_name: Some("Anna K.".into()),
        password_hash: Some("$argon2id$new".into()),
        ..AgentPatch::default()
    };
    db.store.update_agent(anna, renamed).await.unwrap();
    let read = db.store.agent(anna).await.unwrap().unwrap();
    assert_eq!(
        (
            read.display_name.as_str(),
            read.password_hash.as_str(),
            read.role
        ),
        ("Anna K.", "$argon2id$new", Role::Admin)
    );
    let ghost = db
        .store
        .update_agent(AgentId(ben.0 + 1_000), AgentPatch::default())
        .await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
    assert!(db
        .store
        .agent(AgentId(ben.0 + 1_000))
        .await
        .unwrap()
        .is_none());
}

async fn a_session_counts_only_while_unexpired_unrevoked_and_the_agent_enabled(db: Db) {
    let anna = agent(&db.store, "anna@example.com").await;
    let s = &db.store;
    s.create_session([1; 32], anna, 100, 200).await.unwrap();
    s.create_session([2; 32], anna, 100, 200).await.unwrap();
    let who = s.session_agent([1; 32], 150).await.unwrap();
    assert_eq!(who.map(|a| a.id), Some(anna));
    assert!(
        s.session_agent([1; 32], 200).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        s.session_agent([9; 32], 150).await.unwrap().is_none(),
        "unknown"
    );

    s.revoke_session([1; 32], 160).await.unwrap();
    assert!(
        s.session_agent([1; 32], 170).await.unwrap().is_none(),
        "revoked"
    );
    assert!(s.session_agent([2; 32], 170).await.unwrap().is_some());

    let disable = AgentPatch {
        disabled: Some(true),
        ..AgentPatch::default()
    };
    s.update_agent(anna, disable).await.unwrap();
    assert!(
        s.session_agent([2; 32], 170).await.unwrap().is_none(),
        "disabled"
    );

    let enable = AgentPatch {
        disabled: Some(false),
        ..AgentPatch::default()
    };
    s.update_agent(anna, enable).await.unwrap();
    assert!(
        s.session_agent([2; 32], 170).await.unwrap().is_some(),
        "enabled again"
    );
    s.revoke_agent_sessions(anna, 180).await.unwrap();
    assert!(
        s.session_agent([2; 32], 190).await.unwrap().is_none(),
        "all revoked"
    );
    let orphan = s
        .create_session([3; 32], AgentId(anna.0 + 1_000), 100, 200)
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

async fn an_agents_sites_are_replaced_whole_and_listed_for_all_agents(db: Db) {
    acme(&db).await;
    db.store.upsert_site(site("beta", "Beta")).await.unwrap();
    let anna = agent(&db.store, "anna@example.com").await;
    let ben = agent(&db.store, "ben@example.com").await;
    assert!(db.store.agent_sites(anna).await.unwrap().is_empty());
    assert!(db.store.all_agent_sites().await.unwrap().is_empty());
    let both = ["beta".to_string(), "acme".to_string()];
    db.store.set_agent_sites(anna, &both).await.unwrap();
    db.store
        .set_agent_sites(ben, &["beta".into()])
        .await
        .unwrap();
    assert_eq!(db.store.agent_sites(anna).await.unwrap(), ["acme", "beta"]);
    let mut all = db.store.all_agent_sites().await.unwrap();
    all.sort();
    assert_eq!(
        all,
        [
            (anna, "acme".to_string()),
            (anna, "beta".to_string()),
            (ben, "beta".to_string())
        ]
    );
    // An unknown site changes nothing; an unknown agent is not found.
    let bad = ["acme".to_string(), "nowhere".to_string()];
    let refused = db.store.set_agent_sites(anna, &bad).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert_eq!(db.store.agent_sites(anna).await.unwrap(), ["acme", "beta"]);
    let ghost = db
        .store
        .set_agent_sites(AgentId(ben.0 + 1_000), &both)
        .await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
    db.store.set_agent_sites(anna, &[]).await.unwrap();
    assert!(db.store.agent_sites(anna).await.unwrap().is_empty());
    assert_eq!(
        db.store.all_agent_sites().await.unwrap(),
        [(ben, "beta".to_string())]
    );
}
