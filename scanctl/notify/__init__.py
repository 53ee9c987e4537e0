"""Notifications: the outbox and its channels (PRODUCT.md §6).

- `config`: ``[notify]`` / ``[healthcheck]`` → `NotifySettings`, `HealthcheckSettings`;
  `describe` lists every declared key.
- `channel_config`: ``[notify.channels.<name>]`` → one declared `ChannelConfig` per type.
- `message`: `daily_message`, `failure_message`, `test_message` → `Message`.
- `outbox`: `enqueue_run` / `enqueue` (inside the scan's transaction), `deliver` (the delivery
  state machine: each message delivered once), `send_test`, `outbox_status`,
  `notification_summary`.
- `settle`: settling ``unknown`` deliveries (Solapi's look-up, `confirm_delivered`).
- `report`: `ChannelOutcome`, `DeliveryReport`, and `outbox_problems` (failed, unknown,
  sending, pending rows, for ``status``).
- `channels` (+ `solapi`, `transport`): one sender per channel type, `DeliveryError` (which
  says whether the request may have arrived), `SendProgress`, `Settled`.
- `healthcheck`: `Healthcheck` pings, tried a bounded number of times, that never fail the run.

Nothing is imported here, so that importing the package stays cheap for the CLI.
"""
