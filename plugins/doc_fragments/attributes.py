# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """What the attributes of quorum.mongodb modules mean; each module states its support."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: With C(--check), the module reads what it needs and reports what it would change, and changes nothing.
  diff_mode:
    description: With C(--diff), the module returns the state before and after the change (or the change it would make).
  platform:
    description:
      - The module talks to MongoDB over the network from the host that runs the task (often the controller, with
        C(delegate_to)); that host needs Python and the libraries under requirements, not MongoDB.
    support: full
    platforms: posix
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description:
      - The module belongs to the action group C(quorum.mongodb.mongodb), so C(module_defaults) set with
        C(group/quorum.mongodb.mongodb) give it the connection options.
    support: full
    membership:
      - quorum.mongodb.mongodb
"""
