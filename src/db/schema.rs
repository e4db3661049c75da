//! Diesel table definitions, written by hand in portable types (the same for both backends).

diesel::table! {
    properties (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        timezone -> Text,
        currency -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        property_ids -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        session_epoch -> Integer,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        property_ids -> Text,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        given_name -> Text,
        family_name -> Text,
        email -> Nullable<Text>,
        email_norm -> Nullable<Text>,
        phone -> Nullable<Text>,
        gender -> Nullable<Text>,
        nationality -> Nullable<Text>,
        language -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        company -> Nullable<Text>,
        job_title -> Nullable<Text>,
        address -> Nullable<Text>,
        preferred_channel -> Nullable<Text>,
        grade -> Text,
        grade_override -> Nullable<Text>,
        grade_override_reason -> Nullable<Text>,
        lifecycle_stage -> Text,
        source_channel -> Text,
        preferences -> Text,
        special_dates -> Text,
        id_doc_type -> Nullable<Text>,
        id_doc_country -> Nullable<Text>,
        id_doc_number_enc -> Nullable<Text>,
        id_doc_key_id -> Nullable<Text>,
        id_doc_last4 -> Nullable<Text>,
        search_text -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_tags (customer_id, tag) {
        customer_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    customer_external_refs (system, external_id) {
        system -> Text,
        external_id -> Text,
        customer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    customer_consents (customer_id, purpose) {
        customer_id -> Text,
        purpose -> Text,
        granted -> Bool,
        source_channel -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    consent_events (id) {
        id -> Text,
        customer_id -> Text,
        purpose -> Text,
        granted -> Bool,
        source_channel -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    customer_accounts (customer_id) {
        customer_id -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        session_epoch -> Integer,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        family_id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    interactions (id) {
        id -> Text,
        customer_id -> Text,
        property_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        channel -> Text,
        direction -> Text,
        summary -> Text,
        content -> Nullable<Text>,
        result -> Nullable<Text>,
        staff_id -> Nullable<Text>,
        follow_up_status -> Text,
        follow_up_due_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stays (id) {
        id -> Text,
        customer_id -> Text,
        property_id -> Text,
        confirmation_number -> Text,
        check_in -> Date,
        check_out -> Date,
        room_type -> Nullable<Text>,
        room_number -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        nights -> Integer,
        rate_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        version -> BigInt,
        earn_tier -> Nullable<Text>,
    }
}

diesel::table! {
    spend_lines (id) {
        id -> Text,
        property_id -> Text,
        external_id -> Text,
        customer_id -> Text,
        stay_id -> Nullable<Text>,
        outlet -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        spent_on -> Date,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        occurred_at -> Timestamp,
        aggregate_type -> Text,
        aggregate_id -> Text,
        sequence -> BigInt,
        property_id -> Nullable<Text>,
        data -> Text,
        commit_order -> BigInt,
        position -> BigInt,
    }
}

diesel::table! {
    event_sequences (aggregate_type, aggregate_id) {
        aggregate_type -> Text,
        aggregate_id -> Text,
        last_sequence -> BigInt,
        last_commit_order -> BigInt,
    }
}

diesel::table! {
    event_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        url -> Text,
        description -> Text,
        types -> Text,
        property_ids -> Text,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        cursor_commit_order -> BigInt,
        cursor_position -> BigInt,
        failing_since -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        aggregate_type -> Text,
        aggregate_id -> Text,
        sequence -> BigInt,
        occurred_at -> Timestamp,
        state -> Text,
        attempts -> Integer,
        replay -> Bool,
        next_attempt_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_latency_ms -> Nullable<Integer>,
        last_response -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_imports (id) {
        id -> Text,
        format -> Text,
        state -> Text,
        header -> Nullable<Text>,
        total -> BigInt,
        processed -> BigInt,
        created -> BigInt,
        updated -> BigInt,
        failed -> BigInt,
        actor -> Text,
        actor_kind -> Text,
        actor_id -> Text,
        idempotency_key -> Nullable<Text>,
        body_sha256 -> Nullable<Text>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    customer_import_chunks (import_id, seq) {
        import_id -> Text,
        seq -> BigInt,
        first_line -> BigInt,
        records -> Text,
    }
}

diesel::table! {
    customer_import_errors (import_id, line, field) {
        import_id -> Text,
        line -> BigInt,
        field -> Text,
        message -> Text,
    }
}

diesel::joinable!(customer_tags -> customers (customer_id));
diesel::joinable!(loyalty_property_rules -> properties (property_id));
diesel::joinable!(customer_external_refs -> customers (customer_id));
diesel::joinable!(customer_consents -> customers (customer_id));
diesel::joinable!(interactions -> customers (customer_id));
diesel::joinable!(stays -> customers (customer_id));
diesel::joinable!(spend_lines -> stays (stay_id));

diesel::table! {
    idempotency_keys (caller, idem_key) {
        caller -> Text,
        idem_key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        locked_until -> Timestamp,
        created_at -> Timestamp,
        committed_attempt -> Nullable<Text>,
        owner -> Nullable<Text>,
        attempt -> Nullable<Text>,
    }
}

diesel::table! {
    loyalty_accounts (customer_id) {
        customer_id -> Text,
        balance -> BigInt,
        tier -> Text,
        tier_since -> Timestamp,
        tier_review_due_at -> Timestamp,
        enrolled_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        customer_id -> Text,
        kind -> Text,
        points -> BigInt,
        balance_after -> BigInt,
        qualifying -> Bool,
        reason -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        source_kind -> Nullable<Text>,
        source_id -> Nullable<Text>,
        property_id -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        reverses_id -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_lot_consumptions (entry_id, lot_id) {
        entry_id -> Text,
        lot_id -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    tier_changes (id) {
        id -> Text,
        customer_id -> Text,
        from_tier -> Text,
        to_tier -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    loyalty_property_rules (property_id) {
        property_id -> Text,
        points_per_unit -> Nullable<Text>,
        outlet_weights -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    loyalty_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        points_cost -> BigInt,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    redemptions (id) {
        id -> Text,
        customer_id -> Text,
        reward_id -> Text,
        points -> BigInt,
        status -> Text,
        redeem_entry_id -> Text,
        reverse_entry_id -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ledger_lot_closures (lot_id) {
        lot_id -> Text,
        closed_at -> Timestamp,
    }
}

diesel::table! {
    ticket_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    ticket_categories (code) {
        code -> Text,
        name -> Text,
        active -> Bool,
        position -> Integer,
    }
}

diesel::table! {
    sla_policies (id) {
        id -> Text,
        property_id -> Nullable<Text>,
        severity -> Text,
        first_response_minutes -> Integer,
        resolution_minutes -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    business_calendars (property_id) {
        property_id -> Text,
        week -> Text,
        holidays -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    escalation_contacts (property_id, level, staff_id) {
        property_id -> Text,
        level -> Integer,
        staff_id -> Text,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        property_id -> Text,
        customer_id -> Nullable<Text>,
        stay_id -> Nullable<Text>,
        kind -> Text,
        category -> Text,
        severity -> Text,
        channel -> Text,
        subject -> Text,
        description -> Text,
        state -> Text,
        owner_id -> Nullable<Text>,
        created_by_kind -> Text,
        created_by_id -> Nullable<Text>,
        escalation_level -> Integer,
        first_response_due_at -> Timestamp,
        resolution_due_at -> Nullable<Timestamp>,
        resolution_paused_at -> Nullable<Timestamp>,
        resolution_remaining_secs -> Nullable<BigInt>,
        first_responded_at -> Nullable<Timestamp>,
        first_response_breached_at -> Nullable<Timestamp>,
        resolution_breached_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        resolution_summary -> Nullable<Text>,
        reopen_count -> Integer,
        customer_replied_at -> Nullable<Timestamp>,
        source_kind -> Nullable<Text>,
        source_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ticket_entries (id) {
        id -> Text,
        ticket_id -> Text,
        kind -> Text,
        visibility -> Text,
        body -> Nullable<Text>,
        data -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_compensations (id) {
        id -> Text,
        ticket_id -> Text,
        kind -> Text,
        amount_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        points -> Nullable<BigInt>,
        note -> Text,
        state -> Text,
        offered_by_kind -> Text,
        offered_by_id -> Nullable<Text>,
        decided_by_id -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
        ledger_entry_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(ticket_entries -> tickets (ticket_id));
diesel::joinable!(ticket_compensations -> tickets (ticket_id));

diesel::table! {
    survey_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    survey_templates (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        trigger_kind -> Text,
        active -> Bool,
        current_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_template_versions (template_id, version) {
        template_id -> Text,
        version -> Integer,
        questions -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_invitations (id) {
        id -> Text,
        template_id -> Text,
        template_version -> Integer,
        customer_id -> Text,
        property_id -> Text,
        trigger_kind -> Text,
        subject_kind -> Text,
        subject_id -> Nullable<Text>,
        touchpoint -> Nullable<Text>,
        token_hash -> Text,
        state -> Text,
        send_at -> Timestamp,
        expires_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_responses (id) {
        id -> Text,
        invitation_id -> Text,
        template_id -> Text,
        template_version -> Integer,
        customer_id -> Text,
        property_id -> Text,
        trigger_kind -> Text,
        subject_kind -> Text,
        subject_id -> Nullable<Text>,
        touchpoint -> Nullable<Text>,
        answers -> Text,
        nps -> Nullable<Integer>,
        csat -> Nullable<Integer>,
        ces -> Nullable<Integer>,
        staff_id -> Nullable<Text>,
        channel -> Text,
        ticket_id -> Nullable<Text>,
        bonus_entry_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_aspect_scores (response_id, aspect) {
        response_id -> Text,
        aspect -> Text,
        score -> Integer,
    }
}

diesel::joinable!(survey_aspect_scores -> survey_responses (response_id));

diesel::allow_tables_to_appear_in_same_query!(
    properties,
    staff_users,
    api_keys,
    customers,
    customer_tags,
    customer_external_refs,
    customer_consents,
    consent_events,
    customer_accounts,
    refresh_tokens,
    interactions,
    stays,
    spend_lines,
    audit_log,
    idempotency_keys,
    loyalty_accounts,
    ledger_entries,
    ledger_lot_consumptions,
    tier_changes,
    loyalty_property_rules,
    loyalty_settings,
    rewards,
    redemptions,
    ledger_lot_closures,
    ticket_settings,
    ticket_categories,
    sla_policies,
    business_calendars,
    escalation_contacts,
    tickets,
    ticket_entries,
    ticket_compensations,
    survey_settings,
    survey_templates,
    survey_template_versions,
    survey_invitations,
    survey_responses,
    survey_aspect_scores,
    event_sequences,
    events,
    customer_imports,
    customer_import_chunks,
    customer_import_errors,
    event_settings,
    webhook_endpoints,
    webhook_deliveries,
);
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
