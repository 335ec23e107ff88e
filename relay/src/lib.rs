//! # Switchboard relay
//!
//! Routes live chats between website visitors and support agents over WebSockets, enforces
//! each agent's chat cap, queues visitors when everyone is busy, and stores every message
//! durably before acknowledging it.
//!
//! ## Layout (each layer uses only those below it)
//! - Edges: [`ws`] (the one connection loop, visitor and agent endpoints) and [`http`] (REST
//!   API, health, the one error-to-response mapping).
//! - Domain: [`conversations`] (the service: lifecycle, messages, agents, visitors,
//!   publishing), [`routing`] (pure decisions: router, queue, capacity) and [`tickets`]
//!   (chats that become tickets: conversion, workflow, SLA); [`webhooks`] tells other
//!   systems what happened (signed POSTs from a durable outbox).
//! - Bottom: [`fanout`] (who is connected / who follows what) and the `switchboard-store`
//!   crate (the `Store` trait and SQLite with group commit).
//! - Around them: [`config`] (flags + env), [`app`] (assembly, serve, shutdown), [`cli`]
//!   (admin subcommands), [`auth`] (passwords, tokens), [`ratelimit`], [`clock`],
//!   [`listener`] (the connection budget and its shares: refuse cleanly near the open-file
//!   limit, keep unfinished sockets from crowding out chats), [`server`] (the HTTP loop with
//!   a header-read timeout), [`hops`]
//!   (opt-in timing of a message's hops inside the relay, for the load bench).

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod conversations;
pub mod failpoint;
pub mod fanout;
pub mod hops;
pub mod http;
pub mod listener;
pub mod ratelimit;
pub mod reports;
pub mod routing;
pub mod server;
pub mod stream;
pub mod tickets;
pub mod webhooks;
pub mod ws;
