"""Ansible playbooks as dcops actions: the catalog of approved playbooks (what may run, with which
variables, and the content hash that is audited). The port is
:class:`actions.backends.ports.AnsiblePort` (ansible-runner adapter in
``actions.backends.playbook_runner``, simulator in ``actions.sim.ansible``); the action is
``actions.ops.playbook``."""
