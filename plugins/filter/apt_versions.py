# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The documentation of the filters is in apt_served_versions.yml and newest_of_series.yml beside
# this file (ansible-doc takes a filter's docs from <name>.yml when the .py file has none).

from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import newest_of_series, served_versions


class FilterModule(object):
    def filters(self):
        return {
            "apt_served_versions": served_versions,
            "newest_of_series": newest_of_series,
        }
