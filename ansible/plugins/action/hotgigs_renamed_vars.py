"""Action `hotgigs_renamed_vars`: a warning for each old variable name the inventory still sets.

    - name: Warn about renamed variables
      hotgigs_renamed_vars:
        renamed: {nginx_tls_mode: nginx__tls_mode}
        removed_in: "0.2.0"

The roles keep reading an old name as the default of its new one until `removed_in`; this only
tells the operator, on every run that sets one, what to rename. It changes nothing.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("renamed", "removed_in"))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        renamed = self._task.args.get("renamed")
        removed_in = str(self._task.args.get("removed_in", "the next minor release"))
        if not isinstance(renamed, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in renamed.items()):
            raise AnsibleActionFail("renamed: a mapping of old variable names to new ones")
        in_use = sorted(old for old in renamed if old in (task_vars or {}))
        result.update(changed=False, renamed_in_use=in_use, warnings=[
            f"Variable {old} is renamed {renamed[old]}: set {renamed[old]} instead (the old name "
            f"still works, until release {removed_in})" for old in in_use])
        return result
