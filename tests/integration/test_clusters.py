"""ECS cluster operations driven by real boto3 against a real berth server."""
import unittest

from botocore.exceptions import ClientError

from berth_harness import ACCOUNT, REGION, ServerTestCase


def cluster_arn(name):
    return "arn:aws:ecs:%s:%s:cluster/%s" % (REGION, ACCOUNT, name)


class ClusterTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()

    def error_code(self, ctx):
        return ctx.exception.response["Error"]["Code"]

    def test_create_cluster_returns_aws_shape_with_defaults(self):
        name = self.unique("c")
        c = self.ecs.create_cluster(clusterName=name)["cluster"]
        self.assertEqual(c["clusterArn"], cluster_arn(name))
        self.assertEqual(c["clusterName"], name)
        self.assertEqual(c["status"], "ACTIVE")
        for field in ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount",
                      "activeServicesCount"):
            self.assertEqual(c[field], 0, field)
        self.assertEqual(c["settings"], [{"name": "containerInsights", "value": "disabled"}])
        self.assertEqual(c["tags"], [])
        self.assertEqual(c["capacityProviders"], [])
        self.assertEqual(c["defaultCapacityProviderStrategy"], [])

    def test_create_cluster_without_name_creates_default(self):
        c = self.ecs.create_cluster()["cluster"]
        self.assertEqual(c["clusterName"], "default")
        d = self.ecs.describe_clusters()["clusters"]
        self.assertEqual([x["clusterName"] for x in d], ["default"])

    def test_create_cluster_is_idempotent(self):
        name = self.unique("idem")
        a = self.ecs.create_cluster(clusterName=name, tags=[{"key": "team", "value": "a"}])["cluster"]
        b = self.ecs.create_cluster(clusterName=name)["cluster"]
        self.assertEqual(a["clusterArn"], b["clusterArn"])
        self.assertEqual(b["tags"], [{"key": "team", "value": "a"}])
        arns = self.ecs.list_clusters(maxResults=100)["clusterArns"]
        self.assertEqual(arns.count(cluster_arn(name)), 1)

    def test_create_cluster_settings_tags_capacity_providers(self):
        name = self.unique("full")
        c = self.ecs.create_cluster(
            clusterName=name,
            tags=[{"key": "env", "value": "prod"}, {"key": "owner", "value": "me"}],
            settings=[{"name": "containerInsights", "value": "enabled"}],
            capacityProviders=["FARGATE", "FARGATE_SPOT"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 2}],
            configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}},
        )["cluster"]
        self.assertEqual(c["settings"], [{"name": "containerInsights", "value": "enabled"}])
        self.assertEqual(c["capacityProviders"], ["FARGATE", "FARGATE_SPOT"])
        self.assertEqual(c["defaultCapacityProviderStrategy"],
                         [{"capacityProvider": "FARGATE", "weight": 1, "base": 2}])
        self.assertEqual(c["configuration"], {"executeCommandConfiguration": {"logging": "DEFAULT"}})
        self.assertEqual(sorted(t["key"] for t in c["tags"]), ["env", "owner"])

    def test_invalid_cluster_name_is_invalid_parameter(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.create_cluster(clusterName="bad name!")
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_invalid_setting_is_rejected(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.create_cluster(clusterName=self.unique("s"), settings=[{"name": "containerInsights", "value": "maybe"}])
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")

    def test_aws_tag_prefix_is_reserved(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.create_cluster(clusterName=self.unique("t"), tags=[{"key": "aws:x", "value": "y"}])
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")

    def test_describe_clusters_include_and_failures(self):
        name = self.unique("d")
        self.ecs.create_cluster(clusterName=name, tags=[{"key": "k", "value": "v"}])
        out = self.ecs.describe_clusters(clusters=[name, cluster_arn(name), "nope-" + name])
        self.assertEqual(len(out["clusters"]), 2)
        plain = out["clusters"][0]
        self.assertNotIn("tags", plain)
        self.assertNotIn("settings", plain)
        self.assertNotIn("statistics", plain)
        self.assertEqual(out["failures"], [{"arn": cluster_arn("nope-" + name), "reason": "MISSING"}])
        full = self.ecs.describe_clusters(clusters=[name], include=["TAGS", "SETTINGS", "STATISTICS"])["clusters"][0]
        self.assertEqual(full["tags"], [{"key": "k", "value": "v"}])
        self.assertEqual(full["settings"], [{"name": "containerInsights", "value": "disabled"}])
        stats = {s["name"]: s["value"] for s in full["statistics"]}
        self.assertEqual(stats["runningEC2TasksCount"], "0")
        self.assertEqual(stats["activeFargateServiceCount"], "0")

    def test_list_clusters_paginates(self):
        prefix = self.unique("page")
        names = ["%s-%d" % (prefix, i) for i in range(5)]
        for n in names:
            self.ecs.create_cluster(clusterName=n)
        seen, token, pages = [], None, 0
        while True:
            kwargs = {"maxResults": 2}
            if token:
                kwargs["nextToken"] = token
            out = self.ecs.list_clusters(**kwargs)
            self.assertLessEqual(len(out["clusterArns"]), 2)
            seen += out["clusterArns"]
            pages += 1
            token = out.get("nextToken")
            if not token:
                break
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(len(seen), len(set(seen)), "no cluster twice across pages")
        for n in names:
            self.assertIn(cluster_arn(n), seen)
        # The boto3 paginator (from the model's paginators-1.json) sees the same set.
        via_paginator = []
        for page in self.ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 3}):
            via_paginator += page["clusterArns"]
        self.assertEqual(sorted(via_paginator), sorted(seen))

    def test_list_clusters_rejects_bad_max_results_and_token(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.list_clusters(maxResults=101)
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")
        with self.assertRaises(ClientError) as ctx:
            self.ecs.list_clusters(nextToken="garbage!!")
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")

    def test_update_cluster_and_settings(self):
        name = self.unique("u")
        self.ecs.create_cluster(clusterName=name)
        c = self.ecs.update_cluster_settings(cluster=name, settings=[{"name": "containerInsights", "value": "enabled"}])["cluster"]
        self.assertEqual(c["settings"], [{"name": "containerInsights", "value": "enabled"}])
        c = self.ecs.update_cluster(cluster=cluster_arn(name),
                                    configuration={"executeCommandConfiguration": {"logging": "NONE"}},
                                    settings=[{"name": "containerInsights", "value": "disabled"}])["cluster"]
        self.assertEqual(c["configuration"]["executeCommandConfiguration"]["logging"], "NONE")
        self.assertEqual(c["settings"], [{"name": "containerInsights", "value": "disabled"}])
        d = self.ecs.describe_clusters(clusters=[name], include=["CONFIGURATIONS", "SETTINGS"])["clusters"][0]
        self.assertEqual(d["configuration"]["executeCommandConfiguration"]["logging"], "NONE")

    def test_update_unknown_cluster_is_cluster_not_found(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.update_cluster_settings(cluster="missing-" + self.unique("x"),
                                             settings=[{"name": "containerInsights", "value": "enabled"}])
        self.assertEqual(self.error_code(ctx), "ClusterNotFoundException")
        self.assertEqual(ctx.exception.response["Error"]["Message"], "Cluster not found.")

    def test_delete_cluster(self):
        name = self.unique("del")
        self.ecs.create_cluster(clusterName=name)
        c = self.ecs.delete_cluster(cluster=name)["cluster"]
        self.assertEqual(c["status"], "INACTIVE")
        self.assertNotIn(cluster_arn(name), self.ecs.list_clusters(maxResults=100)["clusterArns"])
        d = self.ecs.describe_clusters(clusters=[name])["clusters"]
        self.assertEqual(d[0]["status"], "INACTIVE")
        with self.assertRaises(ClientError) as ctx:
            self.ecs.delete_cluster(cluster=name)
        self.assertEqual(self.error_code(ctx), "ClusterNotFoundException")
        # A new cluster of the same name is ACTIVE again.
        self.assertEqual(self.ecs.create_cluster(clusterName=name)["cluster"]["status"], "ACTIVE")

    def test_tags_on_cluster(self):
        name = self.unique("tag")
        arn = self.ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
        self.ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
        self.ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "3"}])
        tags = self.ecs.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual(sorted((t["key"], t["value"]) for t in tags), [("a", "3"), ("b", "2")])
        self.ecs.untag_resource(resourceArn=arn, tagKeys=["a"])
        self.assertEqual(self.ecs.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "b", "value": "2"}])
        with self.assertRaises(ClientError) as ctx:
            self.ecs.tag_resource(resourceArn=arn, tags=[{"key": "k%d" % i, "value": "v"} for i in range(50)])
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")

    def test_tags_on_unknown_resource(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.list_tags_for_resource(resourceArn="arn:aws:ecs:%s:%s:task-definition/none:1" % (REGION, ACCOUNT))
        self.assertEqual(self.error_code(ctx), "ResourceNotFoundException")
        with self.assertRaises(ClientError) as ctx:
            self.ecs.list_tags_for_resource(resourceArn="not-an-arn")
        self.assertEqual(self.error_code(ctx), "InvalidParameterException")


if __name__ == "__main__":
    unittest.main()
