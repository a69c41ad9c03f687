# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every system shares: errors, checks, options, deadlines and retries, clocks, the journal a service is handed, and the module edge."""
