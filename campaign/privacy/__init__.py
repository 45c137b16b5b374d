"""Privacy duties of the campaign core: erasure of a person by e-mail address across every app
(`erasure`), the keyed hash of addresses (`hashing`), sealing the records tax law makes us keep
(`sealing`), and the suppression list every non-transactional mail honours (`suppression`).

The core knows no app: each app registers what it does for a person in its AppConfig.ready
(`eraser_register`), as mail builders register in `campaign.emails`.
"""
