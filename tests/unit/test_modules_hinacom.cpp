// SPDX-License-Identifier: GPL-3.0-or-later
#include <hinacom/hinacom_source.hpp>
#include <hinacom/manifest.hpp>
#include <source/job.hpp>

#include <doctest/doctest.h>

TEST_SUITE("modules::hinacom")
{
  TEST_CASE("links are recognised by host only, without network")
  {
    using hinacom::Door;
    CHECK(hinacom::accepts(
        Door::medicalimagecloud,
        "https://xa.medicalimagecloud.com:8443/t/0123456789abcdef0123456789abcdef"));
    CHECK_FALSE(
        hinacom::accepts(Door::medicalimagecloud, "https://medicalimagecloud.com.evil.cn/t/x"));
    CHECK(hinacom::accepts(
        Door::cq12320,
        "https://mdmis.cq12320.cn/wcs1/mdmis-app/h5/#/share/detail?share_id=a&content=b"));
    CHECK(
        hinacom::accepts(Door::jdyfy, "http://cloudpacs.jdyfy.com:38081/x?idType=accessionnumber"));
    CHECK_FALSE(hinacom::accepts(Door::jdyfy, "http://example.com/?idType=1"));
  }

  TEST_CASE("report and entry pages")
  {
    CHECK(hinacom::find_view_image_link("<a href=\"/Study/ViewImage?studyId=ab_C-9\">view</a>")
          == "/Study/ViewImage?studyId=ab_C-9");
    CHECK(hinacom::find_view_image_link("<p>密码错误</p>").empty());
    CHECK(hinacom::find_location_href(
              "<script>window.location.href = 'http://h:8001/entry/viewimage?token=YQ==';</script>")
          == "http://h:8001/entry/viewimage?token=YQ==");
    CHECK(hinacom::find_js_var("var TARGET_PATH = \"/ImageViewer/StudyView?x=1\";", "TARGET_PATH")
          == "/ImageViewer/StudyView?x=1");
    CHECK_FALSE(hinacom::find_js_var("var TARGET_PATH_X = \"a\";", "TARGET_PATH"));
    CHECK(hinacom::find_hidden_study_id(
              "<input type=\"hidden\" id=\"StudyId\" name=\"StudyId\" value=\"S123\" />")
          == "S123");
  }

  TEST_CASE("viewer variables are read by name, whatever their order")
  {
    const auto vars = hinacom::parse_viewer_vars(
        "var LOAD_IMAGE_CACHE_KEY = \"ck\";\nvar X = \"y\";\nvar STUDY_EXAM_UID = \"e\";\n"
        "var ACCESSION_NUMBER = \"\";\nvar STUDY_ID = \"s1\";\n");
    REQUIRE(vars);
    CHECK(vars->study_id == "s1");
    CHECK(vars->accession_number.empty());
    CHECK(vars->exam_uid == "e");
    CHECK(vars->cache_key == "ck");
    CHECK_FALSE(hinacom::parse_viewer_vars("<html>login</html>"));
    CHECK(*hinacom::viewer_base("https://h:1/a/b/ImageViewer/StudyView?studyId=1")
          == "https://h:1/a/b/");
  }

  TEST_CASE("listing and tags JSON")
  {
    const auto set = hinacom::parse_image_set(R"({"patientName":"王*","studyDescription":"CT",
      "studyDate":"2024-01-31 10:15:00","storageNode":null,
      "displaySets":[{"description":"Axial","seriesNumber":3,"images":[{"studyId":"s","imageId":"i1"}]},
                     {"description":"","seriesNumber":null,"images":[]}]})");
    REQUIRE(set);
    CHECK(set->storage_node.empty());
    REQUIRE(set->display_sets.size() == 2);
    CHECK(*set->display_sets[0].series_number == 3);
    CHECK_FALSE(set->display_sets[1].series_number);
    CHECK(set->display_sets[0].images[0].image_id == "i1");

    const auto tags =
        hinacom::parse_tags(R"([{"tag":"0010,0010","name":"Patient's Name","value":"Wang^Xiao"},
      {"tag":"0029,1010","name":"","value":"a\\b"}])");
    REQUIRE(tags);
    REQUIRE(tags->size() == 2);
    CHECK((*tags)[0].group == 0x0010);
    CHECK((*tags)[1].element == 0x1010);
    CHECK((*tags)[1].value == "a\\b");
    CHECK(hinacom::parse_tags("[]")->empty());
    CHECK_FALSE(hinacom::parse_tags("<html>session expired</html>"));
  }

  TEST_CASE("export names are safe on every file system")
  {
    CHECK(source::safe_name(" p/a\\t/h ", "x")
          == "p\xEF\xBC\x8F"
             "a\xEF\xBC\xBC"
             "t\xEF\xBC\x8F"
             "h");
    CHECK(source::safe_name("Recon 2: 5mm", "x") == "Recon 2\xEF\xBC\x9A 5mm");
    CHECK(source::safe_name("CON", "x") == "_CON");
    CHECK(source::safe_name("...", "x") == "x");
    source::ExportName n;
    n.patient = "王*";
    n.exam = "CT";
    n.datetime = "2024-01-31 10:15:00";
    n.series_number = 3;
    n.series_description = "Axial";
    n.index = 0;
    CHECK(source::study_folder(n) == "王\xEF\xBC\x8A-CT-20240131101500");
    CHECK(source::series_folder(n) == "3-Axial");
    CHECK(source::instance_file(n) == "00001.dcm");
  }
}
