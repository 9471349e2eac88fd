"""Stand-ins for what lies outside this machine (downloaded weights, the `kaggle` CLI and its servers, real media),
so the offline rehearsal and the tests run the kit's real code on files made here. Nothing here runs in a kernel."""
