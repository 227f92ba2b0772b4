"""Ansible playbooks as dcops actions: the catalog of approved playbooks (what may run, with which
variables, and the content hash that is audited). The port is
:class:`dcops.actions.backends.ports.AnsiblePort` (ansible-runner adapter in
``dcops.actions.backends.playbook_runner``, simulator in ``dcops.actions.sim.ansible``); the action is
``dcops.actions.ops.playbook``."""
