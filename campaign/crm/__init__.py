"""The hand-over of newsletter subscribers to the organisation's CRM: signed JSON webhooks
(subscribe, unsubscribe, erasure) through an outbox of their own, and a CSV export with the
consent proof. See docs/privacy.md, "CRM hand-over"."""
