"""Notifications: the outbox and its channels (PRODUCT.md §6).

- `config`: ``[notify]`` / ``[healthcheck]`` → `NotifySettings`, `HealthcheckSettings`;
  `describe` lists every declared key.
- `channel_config`: ``[notify.channels.<name>]`` → one declared `ChannelConfig` per type.
- `message`: `daily_message`, `failure_message`, `test_message` → `Message`.
- `outbox`: `enqueue_run` / `enqueue` (inside the scan's transaction), `deliver`, `send_test`,
  `outbox_status`, `notification_summary`; results in `report`.
- `channels` (+ `solapi`, `transport`): one sender per channel type, `DeliveryError`.
- `healthcheck`: `Healthcheck` pings that never fail the run.

Nothing is imported here, so that importing the package stays cheap for the CLI.
"""
