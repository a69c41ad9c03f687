# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two DNS providers behind one record-set API: RFC 2136 (dnspython, TSIG) and
Route53 (boto3). Each can ``read(name, type, set_identifier)``, ``apply(changes)``, ``wait_applied()``
and name the zone's authoritative servers (``nameservers()``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    InvalidInput,
    NotFound,
    Timeout,
)
from ansible_collections.golive.core.plugins.module_utils.dns import records
from ansible_collections.golive.core.plugins.module_utils.dns.rfc2136 import Rfc2136Server


class Rfc2136Provider:
    name = "rfc2136"

    def __init__(self, server):
        self.server = server
        self.zone = server.zone.to_text().lower()

    def describe(self):
        return self.server.describe()

    def read(self, name, rtype, set_identifier=None):
        if set_identifier is not None:
            raise InvalidInput("read", "weighted record %s %s %s" % (name, rtype, set_identifier),
                               "RFC 2136 has no weighted records",
                               fix="Shift weights with provider=route53, or cut over whole record sets")
        found = self.server.rrset(name, rtype)
        if found is None:
            return None
        ttl, values = found
        return {"name": name, "type": rtype, "ttl": ttl,
                "values": sorted(records.value_text(rtype, v, self.zone) for v in values)}

    def apply(self, changes):
        """One signed UPDATE for every change: all of them happen, or none."""
        sets = []
        for change in changes:
            name, rtype, _set = records.parse_key(change["key"])
            after = change["after"] or {}
            sets.append((name, rtype, after.get("ttl", 0), after.get("values", [])))
        self.server.replace_sets(sets)
        return None

    def wait_applied(self, token, deadline):
        return {"status": "applied"}

    def nameservers(self):
        """``[(ns name, address)]`` from the zone's NS records and their addresses."""
        found = []
        for ns in self.server.query(self.zone, "NS"):
            addresses = self.server.query(ns, "A") if ns.endswith("." + self.zone) or ns == self.zone else []
            found.append((ns.lower(), addresses[0] if addresses else ns.rstrip(".")))
        return found


class Route53Provider:
    name = "route53"

    def __init__(self, client, zone=None, zone_id=None, classify=None):
        self.client = client
        self.classify = classify
        self.zone_id, self.zone = self._zone(zone, zone_id)

    def _call(self, verb, obj, func, **kwargs):
        try:
            return func(**kwargs)
        except Exception as exc:  # noqa: BLE001 - classified (botocore errors), or re-raised
            if self.classify is None:
                raise
            raise self.classify(exc, verb, obj)

    def _zone(self, zone, zone_id):
        if zone_id:
            answer = self._call("find", "hosted zone %s" % zone_id, self.client.get_hosted_zone, Id=zone_id)
            return zone_id.split("/")[-1], answer["HostedZone"]["Name"].lower()
        if not zone:
            raise InvalidInput("find", "the hosted zone", "give hosted_zone_id or dns_zone")
        wanted = zone.lower().rstrip(".") + "."
        answer = self._call("find", "hosted zone %s" % wanted, self.client.list_hosted_zones_by_name, DNSName=wanted)
        matches = [z for z in answer.get("HostedZones", []) if z["Name"].lower() == wanted
                   and not (z.get("Config") or {}).get("PrivateZone")]
        if len(matches) != 1:
            raise NotFound("find", "hosted zone %s" % wanted, "%d public zones have that name" % len(matches),
                           fix="Give hosted_zone_id")
        return matches[0]["Id"].split("/")[-1], wanted

    def describe(self):
        return "Route53 hosted zone %s (%s)" % (self.zone, self.zone_id)

    def read(self, name, rtype, set_identifier=None):
        """The set of that name and type (the weighted one with that identifier, when given)."""
        answer = self._call("read", "%s %s in %s" % (name, rtype, self.describe()),
                            self.client.list_resource_record_sets, HostedZoneId=self.zone_id,
                            StartRecordName=name, StartRecordType=rtype, MaxItems="100")
        for item in answer.get("ResourceRecordSets", []):
            if (item["Name"].lower() == name and item["Type"] == rtype
                    and item.get("SetIdentifier") == set_identifier):
                found = {"name": name, "type": rtype, "ttl": int(item.get("TTL", 0)),
                         "values": sorted(records.value_text(rtype, r["Value"], self.zone)
                                          for r in item.get("ResourceRecords", []))}
                if set_identifier is not None:
                    found.update(set_identifier=set_identifier, weight=int(item.get("Weight", 0)))
                return found
        return None

    @staticmethod
    def _record_set(name, rtype, rset):
        body = {"Name": name, "Type": rtype, "TTL": rset["ttl"],
                "ResourceRecords": [{"Value": v} for v in rset["values"]]}
        if rset.get("set_identifier") is not None:
            body.update(SetIdentifier=rset["set_identifier"], Weight=int(rset["weight"]))
        return body

    def apply(self, changes):
        batch = []
        for change in changes:
            name, rtype, _set = records.parse_key(change["key"])
            if change["after"] is None:
                batch.append({"Action": "DELETE", "ResourceRecordSet": self._record_set(name, rtype, change["before"])})
            else:
                batch.append({"Action": "UPSERT", "ResourceRecordSet": self._record_set(name, rtype, change["after"])})
        answer = self._call("change", "records in %s" % self.describe(), self.client.change_resource_record_sets,
                            HostedZoneId=self.zone_id,
                            ChangeBatch={"Comment": "golive.core dns_cutover", "Changes": batch})
        return answer["ChangeInfo"]["Id"]

    def wait_applied(self, token, deadline):
        """Poll the change until Route53 reports it INSYNC (all its servers have it)."""
        delay = 1.0
        while True:
            answer = self._call("check", "change %s" % token, self.client.get_change, Id=token)
            status = answer["ChangeInfo"]["Status"]
            if status == "INSYNC":
                return {"status": status, "change_id": token}
            if deadline.remaining() <= 0:
                raise Timeout("wait for", "change %s in %s" % (token, self.describe()),
                              "still %s" % status)
            time.sleep(min(delay, max(deadline.remaining(), 0.01)))
            delay = min(10.0, delay * 2)

    def nameservers(self):
        answer = self._call("read", self.describe(), self.client.get_hosted_zone, Id=self.zone_id)
        return [(ns.lower().rstrip(".") + ".", ns.rstrip(".")) for ns in
                (answer.get("DelegationSet") or {}).get("NameServers", [])]


def rfc2136_from_params(params, timeout=5.0):
    if not params.get("dns_server") or not params.get("dns_zone"):
        raise InvalidInput("use", "the rfc2136 provider", "dns_server and dns_zone are required")
    return Rfc2136Provider(Rfc2136Server(
        params["dns_server"], params["dns_zone"], port=params.get("dns_port") or 53,
        key_name=params.get("tsig_key_name"), key_secret=params.get("tsig_key_secret"),
        key_algorithm=params.get("tsig_key_algorithm") or "hmac-sha256", timeout=timeout))
